/** Further bench sections, added by later parts of loadlens (probes, correlator, workers). */
import { probes } from './probes.js'
import { scaleSections } from './scale.js'
import { accuracy } from './accuracy.js'
import { names } from './names.js'
import { cli } from './cli.js'

export const sections: Record<string, () => Promise<void>> = { probes, ...scaleSections, accuracy, names, cli }
