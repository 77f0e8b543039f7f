// Cuts out every image with the peer, one after another, as a batch user would:
//   node batch.mjs small|medium OUTDIR IMAGE...
// Prints one line per image: "<seconds> <file>".
import { removeBackground } from "@imgly/background-removal-node";
import { writeFile, mkdir } from "node:fs/promises";
import { basename, extname, resolve, join } from "node:path";
import { pathToFileURL } from "node:url";

const [model, outDir, ...images] = process.argv.slice(2);
await mkdir(outDir, { recursive: true });
for (const img of images) {
  const t0 = process.hrtime.bigint();
  const blob = await removeBackground(pathToFileURL(resolve(img)).href, {
    model,
    output: { format: "image/png" },
  });
  await writeFile(join(outDir, basename(img, extname(img)) + ".png"), Buffer.from(await blob.arrayBuffer()));
  console.log(`${Number(process.hrtime.bigint() - t0) / 1e9} ${img}`);
}
