/** Jest global tear-down of the integration project: stops whatever global set-up started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.cardsTestInfrastructure?.release();
}
