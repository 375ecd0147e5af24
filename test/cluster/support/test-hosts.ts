import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '../../../scripts/test-hosts.sh');

/**
 * Test hosts of the cluster fault run (scripts/test-hosts.sh): network namespaces on a bridge, the machine at
 * 10.<net>.0.1. A host is cut off from every peer at once (a network partition) and healed.
 */
export class TestNetwork {
  private constructor(readonly net: number) {}

  /** Whether test hosts can be made here (Linux, root, iproute2); the reason when not. */
  static async unavailable(): Promise<string | undefined> {
    try {
      await run(SCRIPT, ['check']);
      return undefined;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      return stderr || String(error);
    }
  }

  static async create(net: number): Promise<TestNetwork> {
    const network = new TestNetwork(net);
    // A network a crashed run left behind would hold stale hosts.
    await network.script('down');
    await network.script('net');
    return network;
  }

  /** The machine's own address on the network: a server it runs there is reachable from every host. */
  get machineAddress(): string {
    return `10.${this.net}.0.1`;
  }

  async addHost(host: string, octet: number): Promise<string> {
    await this.script('add', host, String(octet));
    return `10.${this.net}.0.${octet}`;
  }

  /** The command prefix that runs a program on `host`. */
  runOn(host: string): string[] {
    return [SCRIPT, 'exec', String(this.net), host];
  }

  async cut(host: string): Promise<void> {
    await this.script('cut', host);
  }

  async heal(host: string): Promise<void> {
    await this.script('heal', host);
  }

  async destroy(): Promise<void> {
    await this.script('down');
  }

  private async script(command: string, ...args: string[]): Promise<void> {
    await run(SCRIPT, [command, String(this.net), ...args], { timeout: 60_000 });
  }
}
