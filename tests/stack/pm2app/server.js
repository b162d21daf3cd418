// The PM2 test app: /health answers its version and the ecosystem env it was started with.
const http = require("http");
const fs = require("fs");
const path = require("path");
const version = fs.readFileSync(path.join(__dirname, "VERSION"), "utf8").trim();
const port = Number(process.env.PORT || 3100);
http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", version, env: process.env.APP_ENV || null }));
  })
  .listen(port, "127.0.0.1", () => console.log(`pm2 test app ${version} on ${port}`));
