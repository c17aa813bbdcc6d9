// Readable generated passwords: four syllables of consonant + vowel and two digits ("tavo-mire-42"),
// easy to read off a handout and type, with no look-alike letters (no l/1, o/0 confusion: digits are
// kept apart from letters). 15 consonants x 5 vowels per syllable, 4 syllables and 2 digits: about
// 2^31 possibilities, plenty for a lab password behind login throttling, and short enough to type.
import { randomInt } from 'node:crypto';

const CONSONANTS = 'bdfghjkmnprstvz';
const VOWELS = 'aeiou';

export function generatePassword(): string {
  const syllable = () => CONSONANTS[randomInt(CONSONANTS.length)] + VOWELS[randomInt(VOWELS.length)];
  return `${syllable()}${syllable()}-${syllable()}${syllable()}-${randomInt(10, 100)}`;
}
