// Reads a receipt through the unchanged npm client `ocr-space-api-wrapper` (file, URL, base64).
const fs = require('fs');
const { ocrSpace } = require('ocr-space-api-wrapper');

async function main() {
  const [ocrUrl, image, url, expected] = process.argv.slice(2);
  const b64 = 'data:image/jpeg;base64,' + fs.readFileSync(image).toString('base64');
  let passed = 0;
  let failed = 0;
  for (const [mode, input] of [['file', image], ['url', url], ['base64', b64]]) {
    let text;
    let ok = false;
    try {
      const res = await ocrSpace(input, { apiKey: 'helloworld', ocrUrl, language: 'eng' });
      text = res.ParsedResults ? res.ParsedResults[0].ParsedText : JSON.stringify(res);
      ok = res.OCRExitCode === 1 && text.includes(expected);
    } catch (e) {
      text = `error: ${e}`;
    }
    console.log(`ocr-space-api-wrapper ${mode}: ${ok ? 'ok' : 'FAILED'}: ${JSON.stringify(text.slice(0, 120))}`);
    if (ok) passed += 1; else failed += 1;
  }
  console.log(`client-tests: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
