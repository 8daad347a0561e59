/**
 * Test data of the Mluv.Me scenario: Czech phrases a learner says, random user settings, and
 * a tiny but valid WAV file made in code (a short 16-bit mono tone), as the seed asks:
 * "fake audio files of minimal size; random user settings; a set of Czech phrases".
 */
import type { TestData } from 'loadlens'

export const CZECH_PHRASES: readonly string[] = [
  'Dobrý den, jak se máte?',
  'Chtěl bych si objednat kávu s mlékem.',
  'Kde je hlavní nádraží?',
  'Mám rád českou kuchyni, hlavně svíčkovou.',
  'Zítra jedu vlakem do Brna.',
  'Můžete mi prosím pomoct?',
  'Učím se česky už dva roky.',
  'Kolik stojí jízdenka do Prahy?',
  'V sobotu půjdeme na procházku do parku.',
  'Promiňte, nerozumím vám.',
  'Potřebuji koupit chleba a máslo.',
  'Moje sestra bydlí v Olomouci.',
  'Jaké je dnes počasí?',
  'Dal bych si jedno pivo, prosím.',
  'Kdy otevírá lékárna?',
  'Hledám ulici Na Příkopě.',
  'Můj oblíbený film je Pelíšky.',
  'Ráno chodím běhat kolem řeky.',
  'Bolí mě hlava a mám horečku.',
  'Na víkend jedeme na chatu.',
  'Ten vlak má zpoždění deset minut.',
  'Mohl byste mluvit trochu pomaleji?',
  'Včera jsem byl v divadle.',
  'Kolik je hodin?',
  'Rád bych si rezervoval stůl pro dva.',
  'Bydlím v Praze už tři měsíce.',
  'Zaplatím kartou, jestli můžu.',
  'Těším se na Vánoce.',
  'Tahle polévka je výborná.',
  'Kde si můžu koupit jízdenku na tramvaj?'
]

export const LEVELS = ['A1', 'A2', 'B1', 'B2', 'C1'] as const
export const CORRECTION_STYLES = ['gentle', 'balanced', 'strict'] as const
export const NATIVE_LANGUAGES = ['en', 'ru', 'uk', 'de', 'pl', 'vi'] as const

export interface UserSettings {
  level: typeof LEVELS[number]
  correctionStyle: typeof CORRECTION_STYLES[number]
  nativeLanguage: typeof NATIVE_LANGUAGES[number]
}

export function randomSettings (data: TestData): UserSettings {
  return { level: data.pick(LEVELS), correctionStyle: data.pick(CORRECTION_STYLES), nativeLanguage: data.pick(NATIVE_LANGUAGES) }
}

/** A valid PCM WAV (RIFF/WAVE, "fmt " and "data" chunks): a tone of `seconds` at `sampleRate` Hz, 16-bit mono. */
export function makeWav (seconds = 0.25, sampleRate = 8000, toneHz = 440): Uint8Array {
  const samples = Math.round(seconds * sampleRate)
  const dataBytes = samples * 2
  const b = Buffer.alloc(44 + dataBytes)
  b.write('RIFF', 0, 'latin1')
  b.writeUInt32LE(36 + dataBytes, 4)
  b.write('WAVE', 8, 'latin1')
  b.write('fmt ', 12, 'latin1')
  b.writeUInt32LE(16, 16) // fmt chunk size
  b.writeUInt16LE(1, 20) // PCM
  b.writeUInt16LE(1, 22) // mono
  b.writeUInt32LE(sampleRate, 24)
  b.writeUInt32LE(sampleRate * 2, 28) // byte rate
  b.writeUInt16LE(2, 32) // block align
  b.writeUInt16LE(16, 34) // bits per sample
  b.write('data', 36, 'latin1')
  b.writeUInt32LE(dataBytes, 40)
  for (let i = 0; i < samples; i++) {
    b.writeInt16LE(Math.round(Math.sin(2 * Math.PI * toneHz * i / sampleRate) * 8000), 44 + i * 2)
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** The voice message every user sends: 0.25 s, 4,044 bytes. */
export const VOICE_WAV = makeWav()
