// Confirmation codes never leave the turn that issued them in clear: what is stored in a
// session, put in a prompt or captured in a trace has them masked.

/** A run of exactly as many digits as a code, whatever surrounds it ("1234567" is not one). */
const CODE_LENGTH_DIGITS = /(?<!\d)\d{6}(?!\d)/g
/** The contract's wording, `confirm NNNNNN`, in any case or spacing. */
const CONFIRM_PHRASE = /\b(confirm(?:ation)?(?:\s+code)?[\s:]+)\d{6}(?!\d)/gi

export const MASKED_CODE = "******"

/** Masks every code-length digit run: for text written while a change is pending. */
export const maskCodeLengthDigits = (text: string): string => text.replace(CODE_LENGTH_DIGITS, MASKED_CODE)

/** Masks codes in the `confirm NNNNNN` form only: safe for any text. */
export const maskConfirmPhrases = (text: string): string => text.replace(CONFIRM_PHRASE, `$1${MASKED_CODE}`)

/** Masks what could be a live code: every digit run while a change is pending, else `confirm NNNNNN`. */
export const maskCodes = (text: string, changePending: boolean): string =>
  changePending ? maskCodeLengthDigits(text) : maskConfirmPhrases(text)
