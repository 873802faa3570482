import { execFileSync } from 'node:child_process';

/** Compiles src/ to dist/ so CLI tests run the same code `npx hotline` runs. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
