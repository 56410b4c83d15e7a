/**
 * %START_TIME(<format>)%: Envoy's strftime-like formatting of the stream's start, always in UTC.
 * The format is parsed once into parts; formatting walks the parts with one Date per call.
 *
 * Supported: %Y %y %m %d %e %H %M %S %j %a %A %b %B %z (`+0000`) %Z (`UTC`) %s (epoch seconds)
 * %T (`%H:%M:%S`) %F (`%Y-%m-%d`) %f (9 fractional digits) %1f..%9f, %E1S..%E9S / %E*S (seconds
 * with fractional digits, as absl does) and `%%`. Without a format Envoy's default applies:
 * ISO 8601 with milliseconds, `2024-04-15T20:17:00.310Z`.
 */

enum Part {
  Year,
  Year2,
  Month,
  Day,
  DaySpace,
  Hour,
  Minute,
  Second,
  DayOfYear,
  WeekdayShort,
  WeekdayLong,
  MonthShort,
  MonthLong,
  EpochSeconds,
  /** Fractional seconds with `digits` digits. */
  Fraction,
  /** Seconds then `.` and `digits` fractional digits. */
  SecondsFraction,
}

interface Spec {
  readonly part: Part;
  readonly digits: number;
}

type Piece = string | Spec;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const SIMPLE: Readonly<Record<string, Piece[]>> = {
  Y: [{ part: Part.Year, digits: 0 }],
  y: [{ part: Part.Year2, digits: 0 }],
  m: [{ part: Part.Month, digits: 0 }],
  d: [{ part: Part.Day, digits: 0 }],
  e: [{ part: Part.DaySpace, digits: 0 }],
  H: [{ part: Part.Hour, digits: 0 }],
  M: [{ part: Part.Minute, digits: 0 }],
  S: [{ part: Part.Second, digits: 0 }],
  j: [{ part: Part.DayOfYear, digits: 0 }],
  a: [{ part: Part.WeekdayShort, digits: 0 }],
  A: [{ part: Part.WeekdayLong, digits: 0 }],
  b: [{ part: Part.MonthShort, digits: 0 }],
  h: [{ part: Part.MonthShort, digits: 0 }],
  B: [{ part: Part.MonthLong, digits: 0 }],
  s: [{ part: Part.EpochSeconds, digits: 0 }],
  f: [{ part: Part.Fraction, digits: 9 }],
  z: ['+0000'],
  Z: ['UTC'],
  T: [
    { part: Part.Hour, digits: 0 },
    ':',
    { part: Part.Minute, digits: 0 },
    ':',
    { part: Part.Second, digits: 0 },
  ],
  F: [
    { part: Part.Year, digits: 0 },
    '-',
    { part: Part.Month, digits: 0 },
    '-',
    { part: Part.Day, digits: 0 },
  ],
  '%': ['%'],
};

/** A compiled START_TIME format; `null` parts means the default ISO form. */
export class StartTimeFormat {
  private constructor(private readonly pieces: readonly Piece[] | null) {}

  /** The default format; each START_TIME operator compiles its own, so caches are not shared. */
  static defaultFormat(): StartTimeFormat {
    return new StartTimeFormat(null);
  }

  /** Parses `fmt`; returns an error message for an unknown specifier. */
  static compile(fmt: string): StartTimeFormat | string {
    if (fmt === '') return StartTimeFormat.defaultFormat();
    const pieces: Piece[] = [];
    let lit = '';
    for (let i = 0; i < fmt.length; i++) {
      const ch = fmt[i];
      if (ch !== '%') {
        lit += ch;
        continue;
      }
      const next = fmt[i + 1];
      if (next === undefined) return `dangling '%' at the end of START_TIME format "${fmt}"`;
      let add: Piece[] | undefined;
      if (next >= '1' && next <= '9' && fmt[i + 2] === 'f') {
        add = [{ part: Part.Fraction, digits: Number(next) }];
        i += 2;
      } else if (
        next === 'E' &&
        fmt[i + 3] === 'S' &&
        (fmt[i + 2] === '*' || (fmt[i + 2] >= '0' && fmt[i + 2] <= '9'))
      ) {
        // %E*S prints as many digits as there are; remora's clock has milliseconds, so 3.
        const d = fmt[i + 2] === '*' ? 3 : Number(fmt[i + 2]);
        add = [{ part: Part.SecondsFraction, digits: d }];
        i += 3;
      } else {
        add = SIMPLE[next];
        if (add === undefined) return `unsupported specifier '%${next}' in START_TIME format "${fmt}"`;
        i += 1;
      }
      for (const p of add) {
        if (typeof p === 'string') lit += p;
        else {
          if (lit !== '') pieces.push(lit);
          lit = '';
          pieces.push(p);
        }
      }
    }
    if (lit !== '') pieces.push(lit);
    return new StartTimeFormat(pieces);
  }

  // Formatting a date is the most expensive operator by far (microseconds); streams starting in
  // the same second share everything up to the fraction, and in the same millisecond everything.
  private lastMs = Number.NaN;
  private lastText = '';
  private lastSecond = Number.NaN;
  private secondPrefix = '';

  format(epochMs: number): string {
    if (epochMs === this.lastMs) return this.lastText;
    const text = this.pieces === null ? this.iso(epochMs) : this.custom(epochMs);
    this.lastMs = epochMs;
    this.lastText = text;
    return text;
  }

  /** `2024-04-15T20:17:00.310Z`, the date part computed once per second. */
  private iso(epochMs: number): string {
    const sec = Math.floor(epochMs / 1000);
    if (sec !== this.lastSecond) {
      const full = new Date(sec * 1000).toISOString();
      this.lastSecond = sec;
      // Everything up to and including the '.' before the milliseconds.
      this.secondPrefix = full.slice(0, full.length - 4);
    }
    const ms = Math.floor(epochMs - sec * 1000);
    return `${this.secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  }

  private custom(epochMs: number): string {
    const d = new Date(epochMs);
    const pieces = this.pieces!;
    let out = '';
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      out += typeof p === 'string' ? p : formatPart(p, d, epochMs);
    }
    return out;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Fractional part of the second with `digits` digits; below a millisecond the digits are zeros. */
function fraction(epochMs: number, digits: number): string {
  const ms = ((epochMs % 1000) + 1000) % 1000;
  const nanos = Math.floor(ms * 1e6);
  return pad(nanos, 9).slice(0, digits);
}

function formatPart(p: Spec, d: Date, epochMs: number): string {
  switch (p.part) {
    case Part.Year:
      return String(d.getUTCFullYear());
    case Part.Year2:
      return pad(d.getUTCFullYear() % 100, 2);
    case Part.Month:
      return pad(d.getUTCMonth() + 1, 2);
    case Part.Day:
      return pad(d.getUTCDate(), 2);
    case Part.DaySpace:
      return String(d.getUTCDate()).padStart(2, ' ');
    case Part.Hour:
      return pad(d.getUTCHours(), 2);
    case Part.Minute:
      return pad(d.getUTCMinutes(), 2);
    case Part.Second:
      return pad(d.getUTCSeconds(), 2);
    case Part.DayOfYear: {
      const start = Date.UTC(d.getUTCFullYear(), 0, 1);
      return pad(Math.floor((epochMs - start) / 86_400_000) + 1, 3);
    }
    case Part.WeekdayShort:
      return WEEKDAYS[d.getUTCDay()].slice(0, 3);
    case Part.WeekdayLong:
      return WEEKDAYS[d.getUTCDay()];
    case Part.MonthShort:
      return MONTHS[d.getUTCMonth()].slice(0, 3);
    case Part.MonthLong:
      return MONTHS[d.getUTCMonth()];
    case Part.EpochSeconds:
      return String(Math.floor(epochMs / 1000));
    case Part.Fraction:
      return fraction(epochMs, p.digits);
    case Part.SecondsFraction:
      return p.digits === 0
        ? pad(d.getUTCSeconds(), 2)
        : `${pad(d.getUTCSeconds(), 2)}.${fraction(epochMs, p.digits)}`;
  }
}
