// Runs one @uploadcare/upload-client call described by the JSON in argv[2] and prints the
// outcome as JSON: {"ok": true, "result": …} or {"ok": false, "error": {name, code, message}}.
import { readFileSync } from "node:fs";
import * as client from "@uploadcare/upload-client";

const job = JSON.parse(process.argv[2]);
const options = job.options ?? {};
const calls = {
  uploadFile: () => client.uploadFile(readFileSync(job.file), options),
  uploadFromUrl: () => client.uploadFromUrl(job.url, options),
  uploadFileGroup: () => client.uploadFileGroup(job.files, options),
  info: () => client.info(job.uuid, options),
  groupInfo: () => client.groupInfo(job.id, options),
};

try {
  const result = await calls[job.op]();
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (error) {
  process.stdout.write(
    JSON.stringify({
      ok: false,
      error: { name: error.name, code: error.code ?? null, message: String(error.message) },
    }),
  );
}
process.exit(0);
