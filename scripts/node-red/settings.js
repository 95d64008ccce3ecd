// Node-RED settings for scripts/bench-http.sh: the flows of flows.json on
// 127.0.0.1, no editor, no logging per request.
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: Number(process.env.PORT || 18102),
  flowFile: process.env.NODE_RED_FLOWS,
  userDir: process.env.NODE_RED_USER_DIR,
  httpAdminRoot: false,
  disableEditor: true,
  credentialSecret: false,
  logging: { console: { level: "warn", metrics: false, audit: false } },
};
