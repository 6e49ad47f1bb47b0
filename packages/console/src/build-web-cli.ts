import { buildWeb } from './build-web';

// `node --import tsx src/build-web-cli.ts OUT_DIR`: the package's build step.
const outDirectory = process.argv[2];
if (!outDirectory) {
  process.stderr.write('usage: build-web-cli.ts OUT_DIR\n');
  process.exitCode = 2;
} else {
  await buildWeb({ outDirectory });
}
