// A Helm chart repository on loopback: serves the files of one folder (index.yaml and chart
// archives, as `helm repo index` lays them out) until killed.
//   node scripts/lib/chart-repo.mjs <folder> <port>
// Used by `npm run up:local` (the local stack's add-ons) and the chart-source e2e test.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

const [dir, port] = process.argv.slice(2);
http.createServer((req, res) => {
    // basename: only files of the folder itself, never a path outside it.
    const file = path.join(dir, path.basename(decodeURIComponent(req.url.split("?")[0])));
    fs.readFile(file, (err, data) => (err ? res.writeHead(404).end() : res.writeHead(200).end(data)));
}).on("error", (err) => {
    console.error(`chart repository on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
}).listen(Number(port), "127.0.0.1");
