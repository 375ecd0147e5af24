import type { KneeSettings } from './profile.ts';

/**
 * Finds the highest good rate by search, not on a grid: from `start` (expected good) the rate doubles until a point
 * is not good (or the ceiling is reached and good), then bisects between the highest good and the lowest bad rate
 * until they are within the resolution (the larger of `resolutionShare` of the good rate and `resolutionMin`), or
 * `maxPoints` have been run. A bad `start` halves downwards instead, so a slow build still gets a figure. With
 * `confirm`, the knee's rate is run once more, and a knee that fails then gives way to the next good rate below.
 */
export async function searchKnee<P extends { good: boolean; rate: number }>(
  settings: KneeSettings,
  run: (rate: number, purpose: 'search' | 'confirm') => Promise<P>,
): Promise<{ knee: number | undefined; firstBad: number | undefined; resolution: number; points: P[] }> {
  const points: P[] = [];
  const confirmations: P[] = [];
  const confirm = settings.confirm ?? false;
  const measure = async (rate: number, purpose: 'search' | 'confirm'): Promise<P> => {
    const point = await run(rate, purpose);
    if (purpose === 'confirm') {
      confirmations.push(point);
    }
    return point;
  };
  let good: number | undefined;
  let bad: number | undefined;
  const step = async (rate: number): Promise<boolean> => {
    const point = await measure(rate, 'search');
    points.push(point);
    if (point.good) {
      good = Math.max(good ?? 0, rate);
    } else {
      bad = Math.min(bad ?? Infinity, rate);
    }
    return point.good;
  };
  const resolution = (): number => Math.max(settings.resolutionMin, (good ?? 0) * settings.resolutionShare);

  let rate = settings.start;
  // Bracket: up by doubling while good, down by halving while bad (to a floor of a few cards per second).
  while (points.length < settings.maxPoints) {
    if (await step(rate)) {
      if (rate >= settings.ceiling) {
        break;
      }
      if (bad !== undefined) {
        break;
      }
      rate = Math.min(settings.ceiling, rate * 2);
    } else {
      if (good !== undefined || rate <= 5) {
        break;
      }
      rate = Math.max(5, Math.floor(rate / 2));
    }
  }
  // Bisect.
  while (
    points.length < settings.maxPoints &&
    good !== undefined &&
    bad !== undefined &&
    bad - good > resolution()
  ) {
    const middle = Math.round((good + bad) / 2);
    if (middle === good || middle === bad) {
      break;
    }
    await step(middle);
  }
  // Confirm: the knee's rate once more (one noisy point must not make the headline); if it fails now, the knee is
  // the highest rate below it that was good.
  if (confirm && good !== undefined) {
    const knee = good;
    if (!(await measure(knee, 'confirm')).good) {
      bad = Math.min(bad ?? Infinity, knee);
      const below = points.filter((point) => point.good && point.rate < knee).map((point) => point.rate);
      good = below.length > 0 ? Math.max(...below) : undefined;
    }
  }
  return {
    knee: good,
    firstBad: bad,
    resolution: Math.round(resolution()),
    points: [...points, ...confirmations],
  };
}
