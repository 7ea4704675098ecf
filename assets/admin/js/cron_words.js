// A cron expression (five fields, UTC, as the server's scheduler reads
// them) in plain words, for the common shapes: every N minutes, hourly at
// a minute, every N hours, daily, weekly or monthly at a time. Anything
// else is given back as it is: a wrong reading would be worse than none.
// No imports, so a test can load this file alone.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MACROS = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** A whole number from `text` if it is one between `min` and `max`. */
function whole(text, min, max) {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** `*\/N` as N, when N is a step within `max`. */
function step(text, max) {
  const m = /^\*\/(\d+)$/.exec(text);
  return m ? whole(m[1], 1, max) : null;
}

const two = (n) => String(n).padStart(2, '0');
const ordinal = (n) => {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] || 'th';
  return `${n}${tail}`;
};

/** `expression` in words, or the expression itself when no reading fits. */
export function cronWords(expression) {
  const text = String(expression ?? '').trim();
  const parts = (MACROS[text.toLowerCase()] || text).split(/\s+/);
  if (parts.length !== 5) return text;
  const [min, hour, dom, mon, dow] = parts;
  if (mon !== '*') return text;
  const minute = whole(min, 0, 59);
  const h = whole(hour, 0, 23);

  if (dom === '*' && dow === '*') {
    if (min === '*' && hour === '*') return 'every minute';
    const everyMin = step(min, 59);
    if (everyMin && hour === '*') return everyMin === 1 ? 'every minute' : `every ${everyMin} minutes`;
    if (minute === null) return text;
    if (hour === '*') return minute === 0 ? 'every hour' : `every hour at minute ${minute}`;
    const everyHour = step(hour, 23);
    if (everyHour) {
      const said = everyHour === 1 ? 'every hour' : `every ${everyHour} hours`;
      return minute === 0 ? said : `${said} at minute ${minute}`;
    }
    if (h !== null) return `every day at ${two(h)}:${two(minute)} UTC`;
    return text;
  }
  if (minute === null || h === null) return text;
  const at = `at ${two(h)}:${two(minute)} UTC`;
  if (dom === '*') {
    const d = whole(dow, 0, 7);
    if (d !== null) return `every ${DAYS[d % 7]} ${at}`;
    if (dow === '1-5') return `every weekday (Monday to Friday) ${at}`;
    return text;
  }
  const day = whole(dom, 1, 31);
  if (day !== null && dow === '*') return `on the ${ordinal(day)} of each month ${at}`;
  return text;
}

/** The words for `expression` when they say more than it does, else ''. */
export function cronSaid(expression) {
  const text = String(expression ?? '').trim();
  const words = cronWords(text);
  return words === text ? '' : words;
}
