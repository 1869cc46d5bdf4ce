/** Who curates when no name is set: the operating system's user name. */
import * as os from 'node:os';

/** The operating system's user name ('' where it cannot be read, e.g. no passwd entry). */
export function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'] ?? '';
  }
}
