//! A fast reader of JSON text for the model file's large sections (tens of
//! thousands of hosts and hashes): a cursor that checks the text as
//! serde_json does and hands out the pieces a reader needs (object keys,
//! strings, number tokens, the text of whole values) without building a
//! tree or decoding anything it is not asked for.
//!
//! It accepts only JSON that serde_json accepts: RFC 8259's grammar, with
//! strings free of control characters and with valid escapes (a `\u`
//! escape needs four hex digits; as serde_json when it skips a value, which
//! code point it names is not checked), numbers without leading zeros or a
//! bare point, only space, tab, newline and carriage return as whitespace.
//! A reader built on it falls back to serde for anything the cursor
//! refuses, so every error message still comes from serde. The cursor may
//! refuse valid JSON it does not handle: escapes in the keys and strings it
//! hands out (their text would need decoding) and values nested more than
//! [`MAX_DEPTH`] deep.
//!
//! Must not: accept text that serde_json rejects (the readers built on it
//! rely on it being as strict as serde), or recurse per nesting level (a
//! hostile file must not exhaust the stack).

/// Deepest nesting [`Cursor::value`] follows (serde_json's own limit for
/// the values it parses into types).
pub const MAX_DEPTH: usize = 128;

/// A position in JSON text. Every reading method skips whitespace first,
/// moves past what it read and returns `None` when the text there is not
/// what it reads (the position is then unspecified: the caller gives up).
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, i: 0 }
    }

    /// What `read` reads from the start of `text` when only whitespace
    /// follows it; `None` otherwise.
    pub fn whole<T>(text: &'a str, read: impl FnOnce(&mut Cursor<'a>) -> Option<T>) -> Option<T> {
        let mut c = Cursor::new(text);
        read(&mut c).filter(|_| c.at_end())
    }

    /// The byte offset into the text.
    pub fn pos(&self) -> usize {
        self.i
    }

    /// Bytes of text after the position.
    pub fn remaining(&self) -> usize {
        self.text.len().saturating_sub(self.i)
    }

    /// The next byte after whitespace (not consumed); `None` at the end.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        let b = self.text.as_bytes();
        match b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            _ => {
                self.i = skip_ws(b, self.i);
                b.get(self.i).copied()
            }
        }
    }

    /// Consumes `c` (after whitespace).
    #[inline]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string without escapes: its text between the quotes. `None` for
    /// anything else, a valid string with escapes too.
    #[inline]
    pub fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let (end, escaped) = string_end(self.text.as_bytes(), start)?;
        self.i = end;
        if escaped {
            return None;
        }
        self.text.get(start..end - 1)
    }

    /// A number read as the standard library's correctly rounded parser
    /// reads it (the same bits), in one pass over its digits. Most numbers
    /// of a saved model are short decimals (`56.0`, `0.0`, `3.25`): when
    /// there are at most 15 digits, they form an integer below 2^53 and
    /// the point sits at most 15 places from the end, so that integer and
    /// the power of ten are both exact doubles and their quotient, one
    /// correctly rounded division, is the correctly rounded value
    /// (Clinger's fast path). Anything else (exponents, long mantissas)
    /// goes to the standard parser.
    #[inline]
    pub fn f64(&mut self) -> Option<f64> {
        let (v, end) = read_f64(self.text, skip_ws(self.text.as_bytes(), self.i))?;
        self.i = end;
        Some(v)
    }

    /// `sep`, then a number read by [`f64`](Self::f64) (the separator of a
    /// list of numbers read in one step).
    #[inline]
    pub fn sep_f64(&mut self, sep: u8) -> Option<f64> {
        let b = self.text.as_bytes();
        let mut i = self.i;
        if b.get(i) != Some(&sep) {
            i = skip_ws(b, i);
            if b.get(i) != Some(&sep) {
                return None;
            }
        }
        let (v, end) = read_f64(self.text, skip_ws(b, i + 1))?;
        self.i = end;
        Some(v)
    }

    /// A number read as [`f64`](Self::f64) reads it, when it is finite
    /// (serde_json refuses a number out of a double's range).
    #[inline]
    pub fn finite_f64(&mut self) -> Option<f64> {
        self.f64().filter(|v| v.is_finite())
    }

    /// `true` or `false`.
    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
        let (word, v): (&[u8], bool) = match self.peek()? {
            b't' => (b"true", true),
            b'f' => (b"false", false),
            _ => return None,
        };
        self.i = literal_end(self.text.as_bytes(), self.i, word)?;
        Some(v)
    }

    /// An unsigned integer: a number without sign, fraction or exponent
    /// that fits.
    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        self.peek()?;
        let b = self.text.as_bytes();
        let mut i = self.i;
        let mut n: u64 = 0;
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while let Some(&c @ b'0'..=b'9') = b.get(i) {
                    n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                    i += 1;
                }
            }
            _ => return None,
        }
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.i = i;
        Some(n)
    }

    /// Any value, checked to the end: its text (without the whitespace
    /// around it). Nesting is followed with a bit per level, not by
    /// recursion.
    pub fn value(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = skip_ws(b, self.i);
        let mut i = start;
        // Whether the innermost open container is an object, and a bit
        // per container around it.
        let mut object = false;
        let mut outer: u128 = 0;
        let mut depth = 0usize;
        loop {
            i = skip_ws(b, i);
            match *b.get(i)? {
                b'"' => i = string_end(b, i + 1)?.0,
                b'-' | b'0'..=b'9' => i = number_end(b, i)?,
                b't' => i = literal_end(b, i, b"true")?,
                b'f' => i = literal_end(b, i, b"false")?,
                b'n' => i = literal_end(b, i, b"null")?,
                open @ (b'[' | b'{') => {
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    outer = outer << 1 | u128::from(object);
                    object = open == b'{';
                    depth += 1;
                    i = skip_ws(b, i + 1);
                    match *b.get(i)? {
                        b'}' if object => {}
                        b']' if !object => {}
                        b'"' if object => {
                            i = key_end(b, i + 1)?;
                            continue;
                        }
                        _ if object => return None,
                        _ => continue,
                    }
                    // (empty)
                    i += 1;
                    depth -= 1;
                    object = outer & 1 == 1;
                    outer >>= 1;
                }
                _ => return None,
            }
            // A value ended: close what ends here, then the next element.
            loop {
                if depth == 0 {
                    self.i = i;
                    return self.text.get(start..i);
                }
                i = skip_ws(b, i);
                match *b.get(i)? {
                    b',' => {
                        i = skip_ws(b, i + 1);
                        if object {
                            if *b.get(i)? != b'"' {
                                return None;
                            }
                            i = key_end(b, i + 1)?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                i += 1;
                depth -= 1;
                object = outer & 1 == 1;
                outer >>= 1;
            }
        }
    }

    /// Moves past a value reading only its structure (strings and
    /// brackets), not what lies between: for text that serde parses
    /// afterwards, and so checks.
    pub fn skip(&mut self) -> Option<()> {
        let b = self.text.as_bytes();
        let mut i = skip_ws(b, self.i);
        match *b.get(i)? {
            b'"' => i = string_end(b, i + 1)?.0,
            b'[' | b'{' => {
                // (as in `value`, the innermost container's kind and a bit
                // per container around it)
                let mut object = false;
                let mut outer: u128 = 0;
                let mut depth = 0usize;
                loop {
                    i = structural_run(b, i);
                    let c = *b.get(i)?;
                    i += 1;
                    match c {
                        b'"' => i = string_end(b, i)?.0,
                        b'[' | b'{' => {
                            if depth == MAX_DEPTH {
                                return None;
                            }
                            outer = outer << 1 | u128::from(object);
                            object = c == b'{';
                            depth += 1;
                        }
                        b']' | b'}' => {
                            if object != (c == b'}') {
                                return None;
                            }
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            object = outer & 1 == 1;
                            outer >>= 1;
                        }
                        // (the bytes `structural_run` stops at by mistake)
                        _ => {}
                    }
                }
            }
            // a number or literal
            _ => {
                let from = i;
                while b.get(i).is_some_and(|c| {
                    !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r')
                }) {
                    i += 1;
                }
                if i == from {
                    return None;
                }
            }
        }
        self.i = i;
        Some(())
    }

    /// An object whose keys have no escapes: `member` is called with each
    /// key, in text order, and must read its value.
    #[inline]
    pub fn object(
        &mut self,
        mut member: impl FnMut(&'a str, &mut Cursor<'a>) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.plain_str()?;
            self.eat(b':')?;
            member(key, self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array whose elements `item` reads, as a vector.
    pub fn vec<T>(&mut self, mut item: impl FnMut(&mut Cursor<'a>) -> Option<T>) -> Option<Vec<T>> {
        let mut v = Vec::new();
        self.array(|c| {
            v.push(item(c)?);
            Some(())
        })?;
        Some(v)
    }

    /// An object with exactly one member, `name`, whose value `read` reads
    /// (`None` for any other or a repeated member).
    pub fn only_member<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(&mut Cursor<'a>) -> Option<T>,
    ) -> Option<T> {
        let mut read = Some(read);
        let mut out = None;
        self.object(|key, c| {
            if key != name || out.is_some() {
                return None;
            }
            out = Some(read.take()?(c)?);
            Some(())
        })?;
        out
    }

    /// An array: `item` is called for each element and must read it.
    #[inline]
    pub fn array(&mut self, mut item: impl FnMut(&mut Cursor<'a>) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The first index from `i` that is not JSON whitespace.
#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The end of a string whose opening quote is just before `i` (the index
/// after its closing quote), and whether it has escapes.
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = plain_run(b, i);
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 1;
                match *b.get(i)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 1,
                    b'u' => {
                        let hex = b.get(i + 1..i + 5)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 5;
                    }
                    _ => return None,
                }
            }
            // a control character
            _ => return None,
        }
    }
}

/// The first index from `i` of a quote, a backslash or a control
/// character (or the end): eight bytes at a time, as serde_json does.
#[inline(always)]
fn plain_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        // (a byte's high bit marks it; the lowest mark is exact)
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let q = x ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = x ^ (ONES * u64::from(b'\\'));
        let slash = s.wrapping_sub(ONES) & !s;
        let marks = (control | quote | slash) & HIGH;
        if marks != 0 {
            return i + marks.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| c >= 0x20 && c != b'"' && c != b'\\')
    {
        i += 1;
    }
    i
}

/// The first index from `i` of a quote or a bracket (or the end), eight
/// bytes at a time; it may stop early at `Y`, `y`, `_` or DEL (one test
/// finds all four brackets: `x | 0x20` turns `[` `]` into `{` `}`, and
/// clearing bits 1 and 2 makes those two equal).
#[inline(always)]
fn structural_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let brackets = ((x | (ONES * 0x20)) & (ONES * 0xf9)) ^ (ONES * 0x79);
        let quotes = x ^ (ONES * u64::from(b'"'));
        // (the lowest mark is exact)
        let marks = zero_bytes(brackets) | zero_bytes(quotes);
        if marks != 0 {
            return i + marks.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while b
        .get(i)
        .is_some_and(|&c| c != b'"' && (c | 0x20) & 0xf9 != 0x79)
    {
        i += 1;
    }
    i
}

/// The number at `start` read as [`Cursor::f64`] reads it, and its end.
#[inline(always)]
fn read_f64(text: &str, start: usize) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let b = text.as_bytes();
    let neg = b.get(start) == Some(&b'-');
    let from = start + usize::from(neg);
    let mut i = from;
    // (wraps past 19 digits, but is used only up to 15)
    let mut m: u64 = 0;
    match *b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                i += 1;
            }
        }
        _ => return None,
    }
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let point = i;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            i += 1;
        }
        frac = i - point;
        if frac == 0 {
            return None;
        }
    }
    let exponent = matches!(b.get(i), Some(b'e' | b'E'));
    if exponent {
        i = exponent_end(b, i + 1)?;
    }
    // (the digits: all but the point)
    let digits = i - from - usize::from(frac > 0);
    if exponent || digits > 15 {
        return Some((text.get(start..i)?.parse().ok()?, i));
    }
    let v = m as f64 / *POW10.get(frac)?;
    Some((if neg { -v } else { v }, i))
}

/// The end of a key whose opening quote is just before `i`, with its
/// colon.
#[inline(always)]
fn key_end(b: &[u8], i: usize) -> Option<usize> {
    let i = skip_ws(b, string_end(b, i)?.0);
    (*b.get(i)? == b':').then_some(i + 1)
}

/// The end of a number starting at `i`, in JSON's grammar: `-`, then `0`
/// or digits not starting with 0, an optional fraction and exponent, each
/// with at least one digit.
#[inline(always)]
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match *b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits_end(b, i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let from = i + 1;
        i = digits_end(b, from);
        if i == from {
            return None;
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i = exponent_end(b, i + 1)?;
    }
    Some(i)
}

/// The end of an exponent's sign and digits at `i` (after the `e`).
#[inline(always)]
fn exponent_end(b: &[u8], mut i: usize) -> Option<usize> {
    if let Some(b'+' | b'-') = b.get(i) {
        i += 1;
    }
    let from = i;
    i = digits_end(b, from);
    (i > from).then_some(i)
}

#[inline(always)]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The end of `word` (`true`, `false`, `null`) at `i`.
#[inline(always)]
fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

#[cfg(test)]
mod tests;
