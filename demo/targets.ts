/** The bundled demo targets (`loadlens demo --target`): a module of its own so that the CLI can name them without loading them. */
export const DEMO_TARGETS = ['express', 'fastapi', 'sync'] as const
export type DemoTargetKind = typeof DEMO_TARGETS[number]
