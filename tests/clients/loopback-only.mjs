// Preloaded into every client-library run (node --import): names other than the machine's
// own never resolve, so a library that reaches for its vendor's hosts (upload-client's
// Pusher socket, say) fails at once instead of touching the network.
import dns from "node:dns";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1"]);
const refuse = (hostname) => {
  const error = new Error(`getaddrinfo ENOTFOUND ${hostname} (tests resolve loopback only)`);
  error.code = "ENOTFOUND";
  return error;
};
const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  const done = typeof options === "function" ? options : callback;
  if (!LOOPBACK.has(hostname)) {
    process.nextTick(() => done(refuse(hostname)));
    return {};
  }
  return original.call(this, hostname, options, callback);
};
const originalPromise = dns.promises.lookup;
dns.promises.lookup = (hostname, options) =>
  LOOPBACK.has(hostname) ? originalPromise(hostname, options) : Promise.reject(refuse(hostname));
