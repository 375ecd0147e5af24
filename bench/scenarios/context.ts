import type { LoadGenerator } from '../lib/generator.ts';
import type { BenchProfile } from '../lib/profile.ts';
import type { BenchUser, Stack } from '../lib/stack.ts';

/** What every scenario gets: the stack, its users, the load generator, the profile, a list to record breakage in. */
export interface ScenarioContext {
  stack: Stack;
  users: BenchUser[];
  /** The load generator's process: every request of every scenario is sent from there. */
  generator: LoadGenerator;
  profile: BenchProfile;
  /** A scenario that does not work (no answers, cards that never end) says so here; the run then exits 1. */
  failures: string[];
  log(message: string): void;
}
