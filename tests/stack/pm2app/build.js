// `npm run build`: dist/ holds what pm2 runs, so a start without a build fails.
const fs = require("fs");
const path = require("path");
const dist = path.join(__dirname, "dist");
fs.mkdirSync(dist, { recursive: true });
fs.copyFileSync(path.join(__dirname, "server.js"), path.join(dist, "server.js"));
fs.copyFileSync(path.join(__dirname, "VERSION"), path.join(dist, "VERSION"));
console.log("built", fs.readFileSync(path.join(dist, "VERSION"), "utf8").trim());
