// Drives the official Node.js SDK (tencentcloud-sdk-nodejs-intl-en) against the emulator.
//
// Usage: node node_driver.js <folder holding node_modules/tencentcloud-sdk-nodejs-intl-en>
// The process gets only the emulator's sdk_env (proxy, CA bundle, demo credentials); every
// client keeps the SDK's defaults (v1 HmacSHA256, POST, https, default endpoint) unless the
// case says which one setting it changes.  Prints one JSON object per case, one per line:
// {"case", "ok", "code", "detail"} (code: the API error code, or "ok").
"use strict";

const path = require("path");
const crypto = require("crypto");

const root = path.resolve(process.argv[2], "node_modules", "tencentcloud-sdk-nodejs-intl-en");
const sdk = require(root);
// The SDK's own HTTP function: node-fetch through https-proxy-agent when http_proxy is set.
const fetch = require(path.join(root, "tencentcloud", "common", "http", "fetch"));

const FaceidClient = sdk.faceid.v20180301.Client;
const models = sdk.faceid.v20180301.Models;
const { ClientProfile, Credential, HttpProfile } = sdk.common;
const md5 = (buf) => crypto.createHash("md5").update(buf).digest("hex");
const env = process.env;

// A client with the SDK's defaults; ``signMethod`` / ``reqMethod`` change the one setting a case tests.
function client({ signMethod, reqMethod, secretId, secretKey } = {}) {
  const cred = new Credential(secretId || env.TENCENTCLOUD_SECRET_ID, secretKey || env.TENCENTCLOUD_SECRET_KEY);
  const profile = new ClientProfile(signMethod, new HttpProfile(undefined, undefined, reqMethod));
  const c = new FaceidClient(cred, "ap-singapore", profile);
  // the SDK's methods take a model and a callback; wrap them as promises
  const call = (action, fields) => {
    const req = new models[`${action}Request`]();
    Object.assign(req, fields);
    return new Promise((resolve, reject) => c[action](req, (err, resp) => (err ? reject(err) : resolve(resp))));
  };
  return {
    CreateUploadUrl: (fields) => call("CreateUploadUrl", fields),
    GenerateReflectSequence: (fields) => call("GenerateReflectSequence", fields),
  };
}

async function upload(c, data) {
  const link = await c.CreateUploadUrl({ TargetAction: "GenerateReflectSequence" });
  const put = await fetch(link.UploadUrl, { method: "PUT", body: data, headers: {} });
  if (put.status !== 200) throw new Error(`PUT answered ${put.status}`);
  return { url: link.ResourceUrl, md5: md5(data), link };
}

async function generateAndDownload(c, device, level = "4") {
  const seq = await c.GenerateReflectSequence({
    DeviceDataUrl: device.url,
    DeviceDataMd5: device.md5,
    SecurityLevel: level,
  });
  const got = await fetch(seq.ReflectSequenceUrl, { method: "GET", headers: {} });
  const blob = await got.buffer();
  if (got.status !== 200) throw new Error(`download answered ${got.status}`);
  if (md5(blob) !== seq.ReflectSequenceMd5) throw new Error("downloaded MD5 differs");
  return `sequence of ${blob.length} bytes, MD5 matches; URL host ${new URL(seq.ReflectSequenceUrl).host}`;
}

async function flow(profile) {
  const c = client(profile);
  const device = await upload(c, Buffer.from(`device data ${Math.random()}`));
  return generateAndDownload(c, device);
}

const CASES = {
  // the SDK's defaults: v1 HmacSHA256, form-encoded POST, https, faceid.intl.tencentcloudapi.com
  upload_flow: () => flow({}),
  tc3: () => flow({ signMethod: "TC3-HMAC-SHA256" }),
  get: () => flow({ reqMethod: "GET" }),
  hmac_sha1: () => flow({ signMethod: "HmacSHA1" }),
  tc3_get: () => flow({ signMethod: "TC3-HMAC-SHA256", reqMethod: "GET" }),
  wrong_type_tc3: async () => {
    const c = client({ signMethod: "TC3-HMAC-SHA256" });
    const device = await upload(c, Buffer.from("abc"));
    await c.GenerateReflectSequence({ DeviceDataUrl: device.url, DeviceDataMd5: device.md5, SecurityLevel: 4 });
    return "accepted";
  },
  level_out_of_range: async () => {
    const c = client();
    const device = await upload(c, Buffer.from("abc"));
    await c.GenerateReflectSequence({ DeviceDataUrl: device.url, DeviceDataMd5: device.md5, SecurityLevel: "7" });
    return "accepted";
  },
  wrong_key: async () => {
    const c = client({ secretKey: "x".repeat(32) });
    await c.CreateUploadUrl({ TargetAction: "GenerateReflectSequence" });
    return "accepted";
  },
  unknown_secret_id: async () => {
    const c = client({ secretId: "AKIDnobody000000000000000000000000000", secretKey: "x".repeat(32) });
    await c.CreateUploadUrl({ TargetAction: "GenerateReflectSequence" });
    return "accepted";
  },
  refused_host: async () => {
    const res = await fetch("https://www.example.com/", { method: "GET", headers: {} });
    let text;
    try {
      text = (await res.text()).trim();
    } catch (err) {
      text = `(body not read: ${err.code || err.message})`; // https-proxy-agent replays only the head
    }
    return `HTTP ${res.status}: ${text}`;
  },
};

async function main() {
  for (const [name, run] of Object.entries(CASES)) {
    let row;
    try {
      row = { case: name, ok: true, code: "ok", detail: await run() };
    } catch (err) {
      row = { case: name, ok: false, code: err.code || err.name || "Error", detail: String(err.message || err) };
    }
    process.stdout.write(JSON.stringify(row) + "\n");
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack) + "\n");
  process.exit(1);
});
