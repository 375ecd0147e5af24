import type { BenchProfile } from '../lib/profile.ts';
import type { BenchUser, Stack } from '../lib/stack.ts';

/** What every scenario gets: the stack, its users, the profile, and a list to record breakage in. */
export interface ScenarioContext {
  stack: Stack;
  users: BenchUser[];
  profile: BenchProfile;
  /** A scenario that does not work (no answers, cards that never end) says so here; the run then exits 1. */
  failures: string[];
  log(message: string): void;
}
