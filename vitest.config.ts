import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

export default defineConfig({
  resolve: {
    alias: { loadlens: fileURLToPath(new URL('./index.ts', import.meta.url)) }
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // timing assertions need the two cores to themselves: one test file at a time
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default']
  }
})
