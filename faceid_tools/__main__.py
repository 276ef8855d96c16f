from faceid_tools.cli import main

raise SystemExit(main())
