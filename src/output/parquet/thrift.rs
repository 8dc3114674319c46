//! Thrift compact protocol, write side only: the few shapes Parquet's page
//! headers and file footer use (structs, i8/i32/i64, bool, binary, lists).
//!
//! Owns the byte encoding (field headers with id deltas, zigzag varints,
//! list headers); knows nothing of Parquet's structures. Must not allocate
//! beyond its output buffer and a small stack of enclosing field ids.

/// Compact protocol type codes.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Ty {
    /// `i8` (a byte).
    I8 = 3,
    /// `i32`.
    I32 = 5,
    /// `i64`.
    I64 = 6,
    /// `binary` / `string`.
    Binary = 8,
    /// `list`.
    List = 9,
    /// `struct` (and union).
    Struct = 12,
}

/// Writes one compact-protocol value into `out`.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// The last field id written in the current struct.
    last: i16,
    /// The enclosing structs' last field ids.
    stack: Vec<i16>,
}

impl<'a> Writer<'a> {
    /// A writer appending to `out`, at the top level of a struct.
    pub fn new(out: &'a mut Vec<u8>) -> Writer<'a> {
        Writer {
            out,
            last: 0,
            stack: Vec::new(),
        }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn field(&mut self, id: i16, ty: u8) {
        let delta = id - self.last;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | ty);
        } else {
            self.out.push(ty);
            self.zigzag(i64::from(id));
        }
        self.last = id;
    }

    /// An `i8` field.
    pub fn i8(&mut self, id: i16, v: i8) {
        self.field(id, Ty::I8 as u8);
        self.out.push(v as u8);
    }

    /// An `i32` field.
    pub fn i32(&mut self, id: i16, v: i32) {
        self.field(id, Ty::I32 as u8);
        self.zigzag(i64::from(v));
    }

    /// An `i64` field.
    pub fn i64(&mut self, id: i16, v: i64) {
        self.field(id, Ty::I64 as u8);
        self.zigzag(v);
    }

    /// A `bool` field (the value is in the field header).
    pub fn bool(&mut self, id: i16, v: bool) {
        self.field(id, if v { 1 } else { 2 });
    }

    /// A `binary`/`string` field.
    pub fn binary(&mut self, id: i16, v: &[u8]) {
        self.field(id, Ty::Binary as u8);
        self.binary_value(v);
    }

    /// A `binary` list element.
    pub fn binary_value(&mut self, v: &[u8]) {
        self.varint(v.len() as u64);
        self.out.extend_from_slice(v);
    }

    /// An `i32` list element.
    pub fn i32_value(&mut self, v: i32) {
        self.zigzag(i64::from(v));
    }

    /// Opens a struct field; close it with [`Writer::end`].
    pub fn begin(&mut self, id: i16) {
        self.field(id, Ty::Struct as u8);
        self.begin_value();
    }

    /// Opens a struct list element; close it with [`Writer::end`].
    pub fn begin_value(&mut self) {
        self.stack.push(self.last);
        self.last = 0;
    }

    /// Closes the current struct (its stop byte).
    pub fn end(&mut self) {
        self.out.push(0);
        self.last = self.stack.pop().unwrap_or(0);
    }

    /// A list field header of `n` elements of type `ty` (the elements follow).
    pub fn list(&mut self, id: i16, ty: Ty, n: usize) {
        self.field(id, Ty::List as u8);
        if n < 15 {
            self.out.push(((n as u8) << 4) | ty as u8);
        } else {
            self.out.push(0xf0 | ty as u8);
            self.varint(n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected bytes worked out by hand from the compact protocol spec
    /// (thrift/doc/specs/thrift-compact-protocol.md).
    #[test]
    fn compact_encoding_by_hand() {
        let mut b = Vec::new();
        let mut w = Writer::new(&mut b);
        w.i32(1, 1); // delta 1, type 5: 0x15; zigzag(1) = 2
        w.i64(3, -1); // delta 2, type 6: 0x26; zigzag(-1) = 1
        w.bool(4, true); // delta 1, type 1: 0x11
        w.binary(20, b"ab"); // delta 16 > 15: 0x08, zigzag(20) = 40 = 0x28, len 2
        w.begin(21); // delta 1, struct: 0x1c
        w.i8(1, 64); // 0x13 0x40
        w.end(); // 0x00
        w.list(22, Ty::I32, 2); // 0x19, 0x25
        w.i32_value(300); // zigzag 600 = 0xd8 0x04
        w.i32_value(-2); // zigzag 3
        w.list(23, Ty::Binary, 15); // 0x19, 0xf8, 15
        drop(w);
        assert_eq!(
            b,
            [
                0x15, 0x02, 0x26, 0x01, 0x11, 0x08, 0x28, 0x02, b'a', b'b', 0x1c, 0x13, 0x40, 0x00,
                0x19, 0x25, 0xd8, 0x04, 0x03, 0x19, 0xf8, 0x0f
            ]
        );
    }

    #[test]
    fn nested_structs_restore_field_ids() {
        let mut b = Vec::new();
        let mut w = Writer::new(&mut b);
        w.i32(5, 0);
        w.begin(6);
        w.i32(9, 0); // delta from 0 inside: 0x95
        w.end();
        w.i32(7, 0); // delta from 6 again: 0x15
        drop(w);
        assert_eq!(b, [0x55, 0x00, 0x1c, 0x95, 0x00, 0x00, 0x15, 0x00]);
    }
}
