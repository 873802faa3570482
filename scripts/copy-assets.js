// tsc compiles only TypeScript; the SQL migrations travel beside the compiled storage code.
import { cpSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist/storage/migrations', { recursive: true, force: true });
cpSync('src/storage/migrations', 'dist/storage/migrations', { recursive: true });
// Marks the build as current for scripts/build-if-stale.js (`npm start`).
writeFileSync('dist/.built', `${new Date().toISOString()}\n`);
