/**
 * Detectors for card data where it must never be: log files, database rows, Kafka messages, HTTP answers. They
 * look for what a leak would look like, not for values a test planted, so they also catch card data that some
 * code path made up on its own.
 */

/** Whether a digit string passes the Luhn check every real card number passes. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) {
        digit -= 9;
      }
    }
    sum += digit;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * A card number: 13–19 digits on their own, or in groups of four split by spaces or hyphens, starting with 2–6
 * (the payment networks' major industry identifiers: Mastercard, Amex, Visa, Discover…). A run touching a letter
 * or another digit is part of something else (a hex id, a longer number). Both rules keep look-alikes out, which
 * would otherwise fail one run in ten at random: epoch timestamps in ms or µs begin with 1 (Node itself prints one
 * in its TimeoutNegativeWarning), and hex ids hold digit runs.
 */
const CARD_NUMBER_CANDIDATES = [
  /(?<![0-9A-Za-z])[2-6]\d{12,18}(?![0-9A-Za-z])/g,
  /(?<![0-9A-Za-z])[2-6]\d{3}([ -])\d{4}\1\d{4}\1\d{1,7}(?![0-9A-Za-z])/g,
];

/** Every Luhn-valid card number in `text`, with separators removed. */
export function findCardNumbers(text: string): string[] {
  const found: string[] = [];
  for (const pattern of CARD_NUMBER_CANDIDATES) {
    for (const match of text.matchAll(pattern)) {
      const digits = match[0].replace(/[ -]/g, '');
      if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) {
        found.push(digits);
      }
    }
  }
  return found;
}

/**
 * A card-data field with a value, as JSON (`"cvv":"123"`, `"pan": 4111…`) or as a header or query (`cvv=123`).
 * A field whose value is `[redacted]` is what redaction leaves behind, not a leak.
 */
const CARD_DATA_FIELD =
  /["']?\b(pan|cvv2?|cvc2?|card_?number|primary_?account_?number)\b["']?\s*[:=]\s*(?!["']?\[redacted\])["']?[^\s"',}\]]+/gi;

/** Every card-data field with a value in `text`. */
export function findCardDataFields(text: string): string[] {
  return [...text.matchAll(CARD_DATA_FIELD)].map((match) => match[0]);
}

/** A column whose name says it holds a card number or a security code. */
export function isCardDataColumnName(name: string): boolean {
  return /(^|_)(pan|cvv2?|cvc2?|number)(_|$)|card_?number|cardnumber|primary_?account/i.test(name);
}

/** A Luhn-valid number that nothing else in a test run will contain: a card number planted to see where it goes. */
export function plantedCardNumber(): string {
  // A Visa-like 4, 14 random digits, then the check digit that makes the 16 pass Luhn.
  const body = `4${Array.from({ length: 14 }, () => Math.floor(Math.random() * 10)).join('')}`;
  for (let check = 0; check <= 9; check++) {
    if (passesLuhn(`${body}${check}`)) {
      return `${body}${check}`;
    }
  }
  throw new Error('unreachable: one check digit always passes Luhn');
}
