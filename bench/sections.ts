/** Further bench sections, added by later parts of loadlens (probes, correlator, workers). */
export const sections: Record<string, () => Promise<void>> = {}
