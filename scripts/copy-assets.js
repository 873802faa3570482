// tsc compiles only TypeScript; the SQL migrations travel beside the compiled storage code.
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/storage/migrations', { recursive: true, force: true });
cpSync('src/storage/migrations', 'dist/storage/migrations', { recursive: true });
