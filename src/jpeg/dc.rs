//! The DCT-coefficient layer for progressive files: decodes only the DC coefficients, one `i16`
//! per 8x8 block, so that a 1/8-scale image of a gigapixel progressive JPEG needs two bytes per
//! block and never the AC coefficients.
//!
//! In a progressive frame (T.81 Annex G) the DC coefficients travel in scans of their own
//! (G.1.1.1.1: a scan codes either the DC band or one AC band), so the AC scans can be passed over
//! with a search for their end marker instead of being Huffman-decoded. Where the data is
//! damaged the decoder behaves like libjpeg (`jdphuff.c`, `jdmarker.c`), so that the DC planes
//! match what libjpeg's 1/8-scale decode would show.

use std::io;

use super::input::Cursor;
use super::segments::{self, Frame, HuffmanTable, QuantTable, ScanHeader};
use super::{Header, Input, Parser, Process, markers};
use crate::error::{Error, Problem, Result};
use crate::limits::Limits;

/// DC coefficients of one component, one i16 per 8x8 block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcPlane {
    /// Blocks per row and rows of blocks, padded to whole MCUs (T.81 A.2.4), i.e.
    /// mcus_x * h and mcus_y * v, where mcus_x = ceil(width / (8*hmax)), mcus_y = ceil(height / (8*vmax)).
    pub blocks_wide: usize,
    pub blocks_high: usize,
    /// Quantized DC coefficient per block, row-major (successive-approximation bits combined).
    pub dc: Vec<i16>,
    /// DC quantizer (entry 0 of the table) latched when the component's first scan starts,
    /// as libjpeg does.
    pub quant_dc: u16,
}

/// The DC coefficients of every component of a progressive frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcImage {
    /// One per frame component, in frame order.
    pub planes: Vec<DcPlane>,
    /// Problems libjpeg would report as warnings (data ended before EOI, a scan's data corrupt,
    /// a DC scan missing so the lowest bits are unknown). Empty for a clean file.
    pub warnings: Vec<String>,
}

impl<I: Input> Parser<I> {
    /// Continues after `read_header` returned `header` (a progressive Huffman frame, SOF2) and
    /// decodes every DC scan to EOI, skipping AC scans without Huffman-decoding them.
    ///
    /// Damaged entropy data gives warnings, not errors, as in libjpeg: blocks that could not be
    /// decoded keep what earlier scans left in them (zero if nothing). A file that ends early
    /// returns what was decoded, with the warning "file ends before EOI".
    pub fn decode_dc(&mut self, header: &Header, limits: &Limits) -> Result<DcImage> {
        let frame = &header.frame;
        check_supported(header)?;
        let geometry = Geometry::new(frame)?;
        let planes = geometry.allocate(limits)?;
        let mut dec = Decoder::new(header, geometry, planes);

        let mut scan = header.first_scan.clone();
        let mut scan_at = header.scan_offset;
        let mut scans = 1u32;
        limits.check_scans(scans)?;
        let mut buf = Vec::new();

        'scans: loop {
            let mut stop = dec.scan(&mut self.cur, &scan, scan_at)?;
            // Between scans (T.81 B.2.1): tables may be redefined before the next SOS.
            loop {
                let code = match stop {
                    Stop::Eof => {
                        dec.truncated = true;
                        break 'scans;
                    }
                    Stop::Marker(code) => code,
                };
                let marker_at = self.cur.offset.saturating_sub(2);
                let seg = markers::name(code);
                match code {
                    markers::EOI => break 'scans,
                    markers::SOS => {
                        let Some(at) = dec.tolerate_eof(self.read_payload(code, &mut buf))? else {
                            break 'scans;
                        };
                        scan = segments::parse_sos(&buf, at, frame)?;
                        scan_at = at;
                        scans = scans.saturating_add(1);
                        limits.check_scans(scans)?;
                        continue 'scans;
                    }
                    markers::DHT => {
                        let Some(at) = dec.tolerate_eof(self.read_payload(code, &mut buf))? else {
                            break 'scans;
                        };
                        for table in segments::parse_dht(&buf, at)? {
                            dec.define_huffman(table);
                        }
                    }
                    markers::DQT => {
                        let Some(at) = dec.tolerate_eof(self.read_payload(code, &mut buf))? else {
                            break 'scans;
                        };
                        for (slot, table) in segments::parse_dqt(&buf, at)? {
                            dec.quant[usize::from(slot)] = Some(table);
                        }
                    }
                    markers::DRI => {
                        let Some(at) = dec.tolerate_eof(self.read_payload(code, &mut buf))? else {
                            break 'scans;
                        };
                        dec.restart_interval = segments::parse_dri(&buf, at)?;
                    }
                    markers::SOI => {
                        return Err(Error::Format {
                            offset: marker_at,
                            segment: seg,
                            problem: Problem::Duplicate("SOI inside the image"),
                        });
                    }
                    m if markers::is_sof(m) => {
                        return Err(Error::Format {
                            offset: marker_at,
                            segment: seg,
                            problem: Problem::Duplicate("SOF"),
                        });
                    }
                    // RSTn outside a scan and TEM carry nothing; libjpeg ignores them too.
                    m if markers::is_standalone(m) => {}
                    // APPn, COM, DNL, DAC and anything else: skipped by length.
                    m => {
                        if dec.tolerate_eof(self.skip_segment(m, 0))?.is_none() {
                            break 'scans;
                        }
                    }
                }
                let (next, garbage) = find_marker(&mut self.cur, false)?;
                dec.warnings.extraneous(garbage, next);
                stop = next;
            }
        }
        Ok(dec.finish())
    }
}

/// Refuses what this decoder does not handle, before anything is allocated.
fn check_supported(header: &Header) -> Result<()> {
    let frame = &header.frame;
    let kind = frame.kind;
    if kind.process() != Process::Progressive || kind.is_hierarchical() || header.hierarchical {
        return Err(Error::Unsupported(format!(
            "DC-only decoding needs a progressive frame (SOF2), not {}",
            kind.name()
        )));
    }
    if kind.is_arithmetic() {
        return Err(Error::Unsupported(
            "DC-only decoding of arithmetic-coded progressive JPEG (SOF10)".into(),
        ));
    }
    if frame.precision != 8 {
        return Err(Error::Unsupported(format!(
            "DC-only decoding of {}-bit samples",
            frame.precision
        )));
    }
    if frame.height == 0 {
        return Err(Error::Unsupported(
            "an image height given by a DNL marker".into(),
        ));
    }
    Ok(())
}

/// Block counts of the frame (T.81 A.2).
struct Geometry {
    /// MCUs per row and MCU rows of an interleaved scan (A.2.4).
    mcus_x: usize,
    mcus_y: usize,
    /// Per component: the padded plane, whole MCUs (A.2.4).
    plane_w: Vec<usize>,
    plane_h: Vec<usize>,
    /// Per component: the blocks a non-interleaved scan covers, ceil(ceil(X*H/Hmax)/8) by
    /// ceil(ceil(Y*V/Vmax)/8) (A.1.1, A.2.2): no padding to whole MCUs.
    comp_w: Vec<usize>,
    comp_h: Vec<usize>,
}

fn too_big(value: u64) -> Error {
    Error::LimitExceeded {
        what: "DC plane size (blocks)",
        value,
        limit: usize::MAX as u64,
    }
}

fn to_usize(value: u64) -> Result<usize> {
    usize::try_from(value).map_err(|_| too_big(value))
}

impl Geometry {
    fn new(frame: &Frame) -> Result<Self> {
        let hmax = frame.components.iter().map(|c| u64::from(c.h)).max();
        let vmax = frame.components.iter().map(|c| u64::from(c.v)).max();
        let (Some(hmax), Some(vmax)) = (hmax, vmax) else {
            return Err(Error::Unsupported("a frame without components".into()));
        };
        if hmax == 0 || vmax == 0 {
            return Err(Error::Unsupported("a sampling factor of zero".into()));
        }
        let (width, height) = (u64::from(frame.width), u64::from(frame.height));
        let mcus_x = width.div_ceil(8 * hmax);
        let mcus_y = height.div_ceil(8 * vmax);
        let mut geometry = Geometry {
            mcus_x: to_usize(mcus_x)?,
            mcus_y: to_usize(mcus_y)?,
            plane_w: Vec::new(),
            plane_h: Vec::new(),
            comp_w: Vec::new(),
            comp_h: Vec::new(),
        };
        for c in &frame.components {
            let (h, v) = (u64::from(c.h), u64::from(c.v));
            geometry.plane_w.push(to_usize(mcus_x * h)?);
            geometry.plane_h.push(to_usize(mcus_y * v)?);
            geometry
                .comp_w
                .push(to_usize((width * h).div_ceil(8 * hmax))?);
            geometry
                .comp_h
                .push(to_usize((height * v).div_ceil(8 * vmax))?);
        }
        Ok(geometry)
    }

    /// Allocates the zeroed planes after checking their total size against the limits.
    fn allocate(&self, limits: &Limits) -> Result<Vec<Vec<i16>>> {
        let mut total: u64 = 0;
        for (&w, &h) in self.plane_w.iter().zip(&self.plane_h) {
            let blocks = (w as u64).checked_mul(h as u64).ok_or(too_big(u64::MAX))?;
            total = total.checked_add(blocks).ok_or(too_big(u64::MAX))?;
        }
        let bytes = total.checked_mul(2).ok_or(too_big(u64::MAX))?;
        limits.check_alloc(bytes)?;
        let refused = || Error::LimitExceeded {
            what: "allocation (bytes)",
            value: bytes,
            limit: limits.max_alloc,
        };
        let mut planes = Vec::new();
        planes
            .try_reserve_exact(self.plane_w.len())
            .map_err(|_| refused())?;
        for (&w, &h) in self.plane_w.iter().zip(&self.plane_h) {
            let len = w.checked_mul(h).ok_or_else(refused)?;
            let mut dc: Vec<i16> = Vec::new();
            dc.try_reserve_exact(len).map_err(|_| refused())?;
            dc.resize(len, 0);
            planes.push(dc);
        }
        Ok(planes)
    }
}

/// Where a run of entropy-coded data ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A marker, whose two bytes have been consumed.
    Marker(u8),
    /// The end of the input (libjpeg inserts a fake EOI here).
    Eof,
}

/// Names for `Problem::Missing`, which takes a static string.
const DC_TABLE_NAMES: [&str; 4] = [
    "DC Huffman table 0 (DHT)",
    "DC Huffman table 1 (DHT)",
    "DC Huffman table 2 (DHT)",
    "DC Huffman table 3 (DHT)",
];
const AC_TABLE_NAMES: [&str; 4] = [
    "AC Huffman table 0 (DHT)",
    "AC Huffman table 1 (DHT)",
    "AC Huffman table 2 (DHT)",
    "AC Huffman table 3 (DHT)",
];

/// RST0; RSTn is RST0 + n (T.81 Table B.1).
const RST0: u8 = 0xD0;

/// At most this many warnings are kept; a damaged gigapixel file with restart markers could
/// otherwise produce one per restart interval.
const MAX_WARNINGS: usize = 50;

#[derive(Default)]
struct Warnings {
    list: Vec<String>,
    suppressed: u64,
}

impl Warnings {
    /// Formats the message only when it will be kept.
    fn push(&mut self, message: impl FnOnce() -> String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(message());
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }

    /// libjpeg's "extraneous bytes before marker": data left where a marker should follow.
    fn extraneous(&mut self, bytes: u64, next: Stop) {
        if let (true, Stop::Marker(code)) = (bytes > 0, next) {
            self.push(|| {
                format!("corrupt data: {bytes} extraneous bytes before marker 0x{code:02X}")
            });
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.list
                .push(format!("{} further warnings suppressed", self.suppressed));
        }
        self.list
    }
}

/// State carried from scan to scan.
struct Decoder<'h> {
    frame: &'h Frame,
    geometry: Geometry,
    planes: Vec<Vec<i16>>,
    /// Quantization tables currently defined (DQT may replace them between scans).
    quant: [Option<QuantTable>; 4],
    /// Per component: entry 0 of its table when its first scan started (libjpeg's
    /// `latch_quant_tables`), so a later DQT does not change an image already being decoded.
    latched: Vec<Option<u16>>,
    dc_tables: [Option<HuffmanTable>; 4],
    /// Lookup tables built from `dc_tables`, cached until a DHT replaces the table.
    dc_decoders: [Option<Box<HuffDecoder>>; 4],
    ac_defined: [bool; 4],
    restart_interval: u16,
    /// Per component: Al of the last DC scan, i.e. the lowest DC bit known (libjpeg's
    /// `coef_bits[c][0]`); `None` before the first DC scan.
    dc_low_bit: Vec<Option<u8>>,
    warnings: Warnings,
    /// The input ended before EOI.
    truncated: bool,
}

impl<'h> Decoder<'h> {
    fn new(header: &'h Header, geometry: Geometry, planes: Vec<Vec<i16>>) -> Self {
        let n = header.frame.components.len();
        let mut dec = Decoder {
            frame: &header.frame,
            geometry,
            planes,
            quant: header.quant_tables,
            latched: vec![None; n],
            dc_tables: Default::default(),
            dc_decoders: Default::default(),
            ac_defined: [false; 4],
            restart_interval: header.restart_interval,
            dc_low_bit: vec![None; n],
            warnings: Warnings::default(),
            truncated: false,
        };
        for table in &header.huffman_tables {
            dec.define_huffman(table.clone());
        }
        dec
    }

    /// DHT (B.2.4.2): a table replaces the one in its slot from the next scan on.
    fn define_huffman(&mut self, table: HuffmanTable) {
        let slot = usize::from(table.slot & 3);
        if table.class == 0 {
            self.dc_tables[slot] = Some(table);
            self.dc_decoders[slot] = None;
        } else {
            self.ac_defined[slot] = true;
        }
    }

    /// A segment that the file cut short ends the decode with a warning, as libjpeg's fake EOI
    /// does; other errors stay errors.
    fn tolerate_eof<T>(&mut self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(Error::Truncated { .. }) => {
                self.truncated = true;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks a scan header against the rules of progressive mode (G.1.1.1), the way libjpeg's
    /// `start_pass_phuff_decoder` does: a violation is fatal there too.
    fn validate(&self, scan: &ScanHeader, at: u64) -> Result<()> {
        let bad = |field: &'static str, value: u8| Error::Format {
            offset: at,
            segment: "SOS",
            problem: Problem::BadValue {
                field,
                value: value.into(),
            },
        };
        if scan.ss == 0 {
            // G.1.1.1.1: in progressive mode the DC coefficient is always coded alone; a scan
            // with Ss = 0 and Se > 0 only exists in sequential mode.
            if scan.se != 0 {
                return Err(bad("end of spectral selection Se of a DC scan", scan.se));
            }
        } else {
            if scan.ss > scan.se || scan.se > 63 {
                return Err(bad("spectral selection Ss..Se, end Se", scan.se));
            }
            // G.1.1.1.1: AC scans are never interleaved.
            if scan.components.len() != 1 {
                return Err(bad(
                    "component count Ns of an AC scan",
                    scan.components.len() as u8,
                ));
            }
        }
        // G.1.1.1.2: a refinement scan adds exactly one bit.
        if scan.ah != 0 && scan.al != scan.ah - 1 {
            return Err(bad(
                "successive approximation Al of a refinement scan",
                scan.al,
            ));
        }
        if scan.al > 13 {
            return Err(bad("successive approximation Al", scan.al));
        }
        if scan.components.len() > 1 {
            // B.2.3: at most 10 blocks in an interleaved MCU.
            let blocks: u32 = scan
                .components
                .iter()
                .map(|sc| {
                    let c = &self.frame.components[sc.index];
                    u32::from(c.h) * u32::from(c.v)
                })
                .sum();
            if blocks > 10 {
                return Err(bad("blocks per MCU", blocks.min(255) as u8));
            }
        }
        Ok(())
    }

    /// Decodes one scan whose entropy-coded data starts at the cursor; returns the marker that
    /// ended it (consumed) or the end of input.
    fn scan<I: Input>(&mut self, cur: &mut Cursor<I>, scan: &ScanHeader, at: u64) -> Result<Stop> {
        // `parse_sos` only makes valid indices; checked anyway, as everything below indexes.
        if let Some(sc) = scan
            .components
            .iter()
            .find(|sc| sc.index >= self.planes.len())
        {
            return Err(Error::Format {
                offset: at,
                segment: "SOS",
                problem: Problem::BadValue {
                    field: "scan component index",
                    value: sc.index as u32,
                },
            });
        }
        self.validate(scan, at)?;
        for sc in &scan.components {
            if self.latched[sc.index].is_none() {
                let slot = self.frame.components[sc.index].table;
                let Some(table) = self.quant[usize::from(slot & 3)] else {
                    return Err(Error::Format {
                        offset: at,
                        segment: "SOS",
                        problem: Problem::UndefinedTable(slot),
                    });
                };
                self.latched[sc.index] = Some(table.values[0]);
            }
        }

        // Progression bookkeeping as in libjpeg: out-of-order scans are warnings there.
        let dc_scan = scan.ss == 0;
        for sc in &scan.components {
            let id = self.frame.components[sc.index].id;
            let known = self.dc_low_bit[sc.index];
            if dc_scan {
                let expected = known.unwrap_or(0);
                if scan.ah != expected {
                    let ah = scan.ah;
                    self.warnings.push(|| {
                        format!(
                            "inconsistent progression: DC scan of component {id} with Ah={ah} \
                             where {expected} was expected"
                        )
                    });
                }
                self.dc_low_bit[sc.index] = Some(scan.al);
            } else if known.is_none() {
                self.warnings.push(|| {
                    format!(
                        "inconsistent progression: AC scan of component {id} before its DC scan"
                    )
                });
            }
        }

        if !dc_scan {
            // An AC scan: libjpeg would need its table, so a missing one is still an error.
            for sc in &scan.components {
                if !self.ac_defined[usize::from(sc.ac_table & 3)] {
                    return Err(Error::Format {
                        offset: at,
                        segment: "SOS",
                        problem: Problem::Missing(AC_TABLE_NAMES[usize::from(sc.ac_table & 3)]),
                    });
                }
            }
            // Its data ends at the first marker that is neither a stuffed 0xFF00 nor RSTn
            // (B.1.1.5, F.1.2.3); no need to decode it.
            let (stop, _) = find_marker(cur, true)?;
            return Ok(stop);
        }

        if scan.ah == 0 {
            // G.1.2.1: only the first DC scan is Huffman-coded; refinement bits are raw.
            for sc in &scan.components {
                let slot = usize::from(sc.dc_table & 3);
                if self.dc_decoders[slot].is_some() {
                    continue;
                }
                let Some(table) = &self.dc_tables[slot] else {
                    return Err(Error::Format {
                        offset: at,
                        segment: "SOS",
                        problem: Problem::Missing(DC_TABLE_NAMES[slot]),
                    });
                };
                let Some(decoder) = HuffDecoder::new(table) else {
                    return Err(Error::Format {
                        offset: at,
                        segment: "SOS",
                        problem: Problem::BadHuffmanTable,
                    });
                };
                self.dc_decoders[slot] = Some(Box::new(decoder));
            }
            self.run::<I, false>(cur, scan)
        } else {
            self.run::<I, true>(cur, scan)
        }
    }

    /// The MCU loop of a DC scan (G.1.2.1) in the block order of A.2, with restart intervals
    /// (E.2.4, handled as libjpeg's `process_restart` does). `REFINE` selects the one-bit
    /// refinement scan.
    fn run<I: Input, const REFINE: bool>(
        &mut self,
        cur: &mut Cursor<I>,
        scan: &ScanHeader,
    ) -> Result<Stop> {
        let empty = HuffDecoder::empty();
        let single = scan.components.len() == 1;
        let mut comps: Vec<ScanComp<'_>> = Vec::with_capacity(scan.components.len());
        for sc in &scan.components {
            let c = &self.frame.components[sc.index];
            // A.2.2: with one component in the scan, an MCU is a single block.
            let (h, v) = if single {
                (1, 1)
            } else {
                (usize::from(c.h), usize::from(c.v))
            };
            let table = match self.dc_decoders[usize::from(sc.dc_table & 3)].as_deref() {
                Some(table) if !REFINE => table,
                _ => &empty,
            };
            comps.push(ScanComp {
                plane: sc.index,
                h,
                v,
                width: self.geometry.plane_w[sc.index],
                table,
            });
        }
        let (mcus_x, mcus_y) = if single {
            let c = scan.components[0].index;
            (self.geometry.comp_w[c], self.geometry.comp_h[c])
        } else {
            (self.geometry.mcus_x, self.geometry.mcus_y)
        };
        let planes = &mut self.planes;
        let warnings = &mut self.warnings;

        let al = u32::from(scan.al);
        let interval = usize::from(self.restart_interval);
        let mut restarts_to_go = interval;
        let mut next_restart: u8 = 0;
        let mut preds = [0i32; 4];
        // libjpeg's `insufficient_data`: after the data of a restart interval ran out, its
        // remaining MCUs are left as they are instead of being decoded from zero bits.
        let mut insufficient = false;
        let mut warned_premature = false;
        let mut warned_bad_code = false;
        let mut bits = Bits::default();

        for my in 0..mcus_y {
            for mx in 0..mcus_x {
                if interval != 0 {
                    if restarts_to_go == 0 {
                        process_restart(&mut bits, cur, next_restart, warnings)?;
                        next_restart = (next_restart + 1) & 7;
                        preds = [0; 4];
                        restarts_to_go = interval;
                        if bits.stop.is_none() {
                            insufficient = false;
                        }
                    }
                    restarts_to_go -= 1;
                }
                if insufficient {
                    continue;
                }
                for (k, comp) in comps.iter().enumerate() {
                    let plane = &mut planes[comp.plane];
                    for by in 0..comp.v {
                        let row = (my * comp.v + by) * comp.width + mx * comp.h;
                        for bx in 0..comp.h {
                            let cell = &mut plane[row + bx];
                            if REFINE {
                                // G.1.2.1: the refinement scan sends bit Al of each DC value.
                                if bits.n == 0 {
                                    bits.refill(cur)?;
                                }
                                // Branch-free: the bits are as good as random.
                                let bit = (bits.acc >> 63) as i16;
                                bits.consume(1);
                                *cell |= bit << al;
                            } else {
                                let diff = dc_difference(&mut bits, cur, comp.table)?;
                                // F.2.2.1: the prediction is the previous DC of the component.
                                preds[k] = preds[k].saturating_add(diff);
                                let value = i64::from(preds[k]) << al;
                                *cell = value.clamp(i16::MIN.into(), i16::MAX.into()) as i16;
                            }
                        }
                    }
                }
                if bits.trouble() {
                    if bits.bad_category != 0 {
                        return Err(Error::Format {
                            offset: cur.offset,
                            segment: "SOS",
                            problem: Problem::BadValue {
                                field: "DC difference category SSSS (above 11)",
                                value: bits.bad_category.into(),
                            },
                        });
                    }
                    if bits.bad_code {
                        bits.bad_code = false;
                        if !warned_bad_code {
                            warned_bad_code = true;
                            warnings.push(|| "corrupt data: bad Huffman code".into());
                        }
                    }
                    if bits.overrun {
                        bits.overrun = false;
                        insufficient = true;
                        if matches!(bits.stop, Some(Stop::Marker(_))) && !warned_premature {
                            warned_premature = true;
                            warnings.push(|| "corrupt data: premature end of scan".into());
                        }
                    }
                }
            }
        }

        // The scan is complete: the data should end at a marker (B.1.1.5); whole bytes left
        // over are garbage, which libjpeg reports.
        let leftover = u64::from(bits.n / 8);
        let (stop, skipped) = match bits.stop {
            Some(stop) => (stop, 0),
            None => find_marker(cur, false)?,
        };
        warnings.extraneous(leftover + skipped, stop);
        Ok(stop)
    }

    fn finish(mut self) -> DcImage {
        if self.truncated {
            self.warnings.push(|| "file ends before EOI".into());
        }
        for (c, comp) in self.frame.components.iter().enumerate() {
            let id = comp.id;
            match self.dc_low_bit[c] {
                None => self
                    .warnings
                    .push(|| format!("no DC scan for component {id}: its blocks are left at zero")),
                Some(al) if al > 0 => self.warnings.push(|| {
                    format!(
                        "DC of component {id} lacks its {al} lowest bits: a DC refinement scan \
                         is missing"
                    )
                }),
                Some(_) => {}
            }
        }
        let frame = self.frame;
        let planes = self
            .planes
            .into_iter()
            .enumerate()
            .map(|(c, dc)| {
                let table = frame.components[c].table;
                DcPlane {
                    blocks_wide: self.geometry.plane_w[c],
                    blocks_high: self.geometry.plane_h[c],
                    dc,
                    // A component that no scan ever named has only zero blocks; any quantizer
                    // gives the same picture, so take the table in force at the end.
                    quant_dc: self.latched[c].unwrap_or_else(|| {
                        self.quant[usize::from(table & 3)].map_or(0, |t| t.values[0])
                    }),
                }
            })
            .collect();
        DcImage {
            planes,
            warnings: self.warnings.into_vec(),
        }
    }
}

/// One component of the scan being decoded.
struct ScanComp<'t> {
    plane: usize,
    /// Blocks per MCU across and down (1x1 in a non-interleaved scan).
    h: usize,
    v: usize,
    /// Padded plane width in blocks.
    width: usize,
    table: &'t HuffDecoder,
}

/// Decodes one DC difference (F.2.2.1): a Huffman-coded category SSSS, then SSSS extra bits
/// whose sign is extended by F.12 (EXTEND).
#[inline(always)]
fn dc_difference<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    table: &HuffDecoder,
) -> io::Result<i32> {
    // 16 bits of code plus 11 bits of value fit in 32; refill then serves several blocks.
    if bits.n < 32 {
        bits.refill(cur)?;
    }
    let both = table.dc_fast[(bits.acc >> (64 - FAST_BITS)) as usize];
    if both != 0 {
        bits.consume((both & 15) as u32);
        return Ok(i32::from(both >> 4));
    }
    let s = table.decode(bits);
    // F.1.2.1: for 8-bit samples the DC difference category is 0..=11.
    if s > 11 {
        bits.bad_category = s;
        return Ok(0);
    }
    // Branch-free, as categories and signs are hard to predict: for s = 0 the two-step shift
    // gives r = 0 (a single shift by 64 would overflow), and the threshold is 0.
    let s = u32::from(s);
    let r = ((bits.acc >> 1) >> (63 - s)) as i32;
    bits.consume(s);
    Ok(extend(r, s))
}

/// F.12 EXTEND: of the s-bit values r, those below 2^(s-1) stand for r - (2^s - 1). Branch-free,
/// as signs are hard to predict; s = 0 (with r = 0) gives 0.
#[inline(always)]
fn extend(r: i32, s: u32) -> i32 {
    let negative = i32::from(r < (1 << s) >> 1);
    r - negative * ((1 << s) - 1)
}

/// Restart handling at the start of an MCU whose interval is due (E.2.4): throws away the
/// leftover bits, expects RSTn, and resynchronises like libjpeg's `read_restart_marker` and
/// `jpeg_resync_to_restart` when the marker is missing or wrong.
fn process_restart<I: Input>(
    bits: &mut Bits,
    cur: &mut Cursor<I>,
    expected: u8,
    warnings: &mut Warnings,
) -> io::Result<()> {
    let mut discarded = u64::from(bits.n / 8);
    bits.acc = 0;
    bits.n = 0;
    let mut marker = match bits.stop {
        Some(stop) => stop,
        None => {
            let (stop, skipped) = find_marker(cur, false)?;
            discarded += skipped;
            bits.stop = Some(stop);
            stop
        }
    };
    warnings.extraneous(discarded, marker);
    let wanted = RST0 + expected;
    if marker == Stop::Marker(wanted) {
        bits.stop = None;
        return Ok(());
    }
    if let Stop::Marker(code) = marker {
        warnings
            .push(|| format!("corrupt data: found marker 0x{code:02X} instead of RST{expected}"));
    }
    // Each pass either returns or consumes a marker from the input, so this ends.
    loop {
        match resync_action(marker, expected) {
            Resync::Resume => {
                bits.stop = None;
                return Ok(());
            }
            Resync::Advance => {
                let (stop, _) = find_marker(cur, false)?;
                bits.stop = Some(stop);
                marker = stop;
            }
            Resync::Leave => return Ok(()),
        }
    }
}

enum Resync {
    /// Drop the marker and decode the data after it as the expected interval.
    Resume,
    /// Skip to the next marker and decide again.
    Advance,
    /// Keep the marker unread: the intervals before it are empty.
    Leave,
}

/// libjpeg's `jpeg_resync_to_restart` decision for a marker met where RST`desired` belonged.
fn resync_action(marker: Stop, desired: u8) -> Resync {
    let code = match marker {
        Stop::Eof => return Resync::Leave,
        Stop::Marker(code) => code,
    };
    if code < 0xC0 {
        return Resync::Advance;
    }
    if !markers::is_rst(code) {
        return Resync::Leave;
    }
    let n = code - RST0;
    if n == (desired + 1) & 7 || n == (desired + 2) & 7 {
        Resync::Leave
    } else if n == desired.wrapping_sub(1) & 7 || n == desired.wrapping_sub(2) & 7 {
        Resync::Advance
    } else {
        Resync::Resume
    }
}

/// Reads until the next marker, at memchr speed, and consumes it; returns it with the count of
/// other bytes passed over (libjpeg's "extraneous bytes", not counting 0xFF fill bytes).
///
/// In entropy-coded data (`in_scan`), 0xFF00 (a stuffed 0xFF, F.1.2.3) and RSTn belong to the
/// data and are passed over; otherwise every marker is returned, as libjpeg's `next_marker` does.
fn find_marker<I: Input>(cur: &mut Cursor<I>, in_scan: bool) -> io::Result<(Stop, u64)> {
    let mut pending_ff = false;
    let mut skipped = 0u64;
    loop {
        let buf = match cur.input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((Stop::Eof, skipped));
        }
        let mut i = 0;
        let mut found = None;
        while i < buf.len() {
            if pending_ff {
                let code = buf[i];
                i += 1;
                match code {
                    0xFF => {}
                    0x00 => {
                        pending_ff = false;
                        if !in_scan {
                            skipped += 2;
                        }
                    }
                    c if in_scan && markers::is_rst(c) => pending_ff = false,
                    c => {
                        found = Some(c);
                        break;
                    }
                }
            } else {
                match memchr::memchr(0xFF, &buf[i..]) {
                    Some(pos) => {
                        skipped += pos as u64;
                        i += pos + 1;
                        pending_ff = true;
                    }
                    None => {
                        skipped += (buf.len() - i) as u64;
                        i = buf.len();
                    }
                }
            }
        }
        cur.input.consume(i);
        cur.offset += i as u64;
        if let Some(code) = found {
            return Ok((Stop::Marker(code), if in_scan { 0 } else { skipped }));
        }
    }
}

/// The entropy-coded bit stream (F.2.2.5) in a 64-bit buffer, filled several bytes at a time
/// when they hold no 0xFF.
#[derive(Default)]
struct Bits {
    /// The next bits, most significant first; every bit below the `n` real ones is zero, which
    /// is what makes reading past a marker yield zeros, as in libjpeg.
    acc: u64,
    /// Real bits in `acc`.
    n: u32,
    /// A marker (consumed) or the end of input ended the data; nothing more is read.
    stop: Option<Stop>,
    /// Bits were consumed beyond `stop`, that is, read as zeros.
    overrun: bool,
    /// A code not in the table was met (libjpeg: "bad Huffman code"); decoded as 0.
    bad_code: bool,
    /// A DC category above 11 was decoded.
    bad_category: u8,
}

impl Bits {
    #[inline(always)]
    fn trouble(&self) -> bool {
        self.overrun | self.bad_code | (self.bad_category != 0)
    }

    /// Drops `k` bits (at most 32); past the real bits it reads zeros and notes the overrun.
    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.acc <<= k;
        if k <= self.n {
            self.n -= k;
        } else {
            self.n = 0;
            self.overrun = true;
        }
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.acc |= u64::from(byte) << (56 - self.n);
        self.n += 8;
    }

    /// Fills the buffer to more than 56 bits unless a marker or the end of input comes first.
    /// Eight bytes without 0xFF go in with one load; otherwise byte by byte, undoing the 0xFF00
    /// stuffing (F.1.2.3) and stopping at a marker, before which 0xFF fill bytes may stand
    /// (B.1.1.2).
    #[inline(never)]
    fn refill<I: Input>(&mut self, cur: &mut Cursor<I>) -> io::Result<()> {
        while self.n <= 56 && self.stop.is_none() {
            let buf = match cur.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(chunk) = buf.first_chunk::<8>() {
                let word = u64::from_be_bytes(*chunk);
                if !has_ff_byte(word) {
                    let k = (64 - self.n) / 8;
                    self.acc |= (word >> (64 - 8 * k)) << (64 - 8 * k - self.n);
                    self.n += 8 * k;
                    cur.input.consume(k as usize);
                    cur.offset += u64::from(k);
                    continue;
                }
            }
            let Some(&byte) = buf.first() else {
                self.stop = Some(Stop::Eof);
                break;
            };
            cur.input.consume(1);
            cur.offset += 1;
            if byte != 0xFF {
                self.push(byte);
                continue;
            }
            loop {
                match cur.next_byte()? {
                    None => self.stop = Some(Stop::Eof),
                    Some(0xFF) => continue,
                    Some(0x00) => self.push(0xFF),
                    Some(code) => self.stop = Some(Stop::Marker(code)),
                }
                break;
            }
        }
        Ok(())
    }
}

/// True when some byte of `word` is 0xFF (the zero-byte test applied to its complement).
#[inline(always)]
fn has_ff_byte(word: u64) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let v = !word;
    v.wrapping_sub(LOW) & !v & HIGH != 0
}

/// Bits of code looked up at once; longer codes take the canonical path.
const FAST_BITS: u32 = 9;

/// A Huffman decoding table (T.81 C, F.2.2.3 / F.16): a lookup on the next 9 bits for short
/// codes, and libjpeg's `maxcode`/`valoffset` for the rest.
struct HuffDecoder {
    /// For each 9-bit prefix: `length << 8 | symbol` when a code of at most 9 bits starts it,
    /// otherwise 0.
    fast: [u16; 1 << FAST_BITS],
    /// For DC tables, each 9-bit prefix that holds a whole category code and its extra bits:
    /// `difference << 4 | bits used`, so that most blocks take one lookup; otherwise 0.
    dc_fast: [i16; 1 << FAST_BITS],
    /// Largest code of each length 1..=16 (-1 when none).
    maxcode: [i32; 17],
    /// Index into `values` of a code of length l, minus the code.
    valoffset: [i32; 17],
    values: Vec<u8>,
}

impl HuffDecoder {
    fn empty() -> Self {
        HuffDecoder {
            fast: [0; 1 << FAST_BITS],
            dc_fast: [0; 1 << FAST_BITS],
            maxcode: [-1; 17],
            valoffset: [0; 17],
            values: Vec::new(),
        }
    }

    /// Builds the canonical codes (Annex C, Figures C.1 and C.2). Refuses, as libjpeg's `jpeg_make_d_derived_tbl` does,
    /// counts that overflow the code space or that would use an all-ones code (reserved by
    /// Annex C), and DC symbols above 15.
    fn new(table: &HuffmanTable) -> Option<Self> {
        let mut dec = HuffDecoder::empty();
        let mut code: u32 = 0;
        let mut k: usize = 0;
        for l in 1..=16u32 {
            let count = usize::from(table.counts[l as usize - 1]);
            dec.valoffset[l as usize] = k as i32 - code as i32;
            for _ in 0..count {
                if code >= 1 << l {
                    return None;
                }
                let symbol = *table.values.get(k)?;
                if table.class == 0 && symbol > 15 {
                    return None;
                }
                if l <= FAST_BITS {
                    let shift = FAST_BITS - l;
                    let first = (code << shift) as usize;
                    let entry = (l << 8) as u16 | u16::from(symbol);
                    dec.fast[first..first + (1 << shift)].fill(entry);
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                dec.maxcode[l as usize] = code as i32 - 1;
            }
            if code >= 1 << l {
                return None;
            }
            code <<= 1;
        }
        dec.values = table.values.get(..k)?.to_vec();
        if table.class == 0 {
            for (prefix, &entry) in dec.fast.iter().enumerate() {
                let (len, category) = (u32::from(entry >> 8), u32::from(entry & 0xFF));
                if entry == 0 || category > 11 || len + category > FAST_BITS {
                    continue;
                }
                let r = (prefix as i32 >> (FAST_BITS - len - category)) & ((1 << category) - 1);
                let diff = extend(r, category);
                dec.dc_fast[prefix] = (diff << 4) as i16 | (len + category) as i16;
            }
        }
        Some(dec)
    }

    /// Decodes one symbol; the caller has made sure of 32 bits unless the data has stopped.
    #[inline(always)]
    fn decode(&self, bits: &mut Bits) -> u8 {
        let entry = self.fast[(bits.acc >> (64 - FAST_BITS)) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return entry as u8;
        }
        self.decode_long(bits)
    }

    /// F.16 for codes longer than the lookup: lengthen the code until it is at most the largest
    /// code of its length. Garbage can match no code: libjpeg then drops 17 bits and returns 0.
    #[inline(never)]
    fn decode_long(&self, bits: &mut Bits) -> u8 {
        for l in FAST_BITS + 1..=16 {
            let code = (bits.acc >> (64 - l)) as i32;
            if code <= self.maxcode[l as usize] {
                bits.consume(l);
                let index = code + self.valoffset[l as usize];
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| self.values.get(i))
                    .copied()
                    .unwrap_or(0);
            }
        }
        bits.consume(17);
        bits.bad_code = true;
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::Streamed;
    use std::io::Read;
    use std::path::Path;
    use std::process::Command;

    /// A deterministic pseudo-random sequence (xorshift), for noise and garbage.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// A binary PPM of smooth gradients with some noise, kept away from 0 and 255 so that no
    /// clamping hides a difference.
    fn ppm(width: usize, height: usize, seed: u64) -> Vec<u8> {
        let mut rng = Rng(seed | 1);
        let mut out = format!("P6\n{width} {height}\n255\n").into_bytes();
        for y in 0..height {
            for x in 0..width {
                let fx = x as f64 / width.max(2) as f64;
                let fy = y as f64 / height.max(2) as f64;
                let base = [
                    40.0 + 170.0 * fx + 20.0 * (fy * 9.0).sin(),
                    60.0 + 130.0 * fy + 25.0 * (fx * 7.0).cos(),
                    90.0 + 80.0 * (fx + fy) / 2.0 + 30.0 * ((fx - fy) * 5.0).sin(),
                ];
                for value in base {
                    let noise = (rng.next() % 31) as f64 - 15.0;
                    out.push((value + noise).clamp(16.0, 239.0) as u8);
                }
            }
        }
        out
    }

    /// Runs the system `cjpeg` on a PPM; `args` come before the output option.
    fn cjpeg(dir: &Path, image: &[u8], args: &[&str]) -> Vec<u8> {
        let input = dir.join("in.ppm");
        let output = dir.join("out.jpg");
        std::fs::write(&input, image).unwrap();
        let result = Command::new("cjpeg")
            .args(args)
            .arg("-outfile")
            .arg(&output)
            .arg(&input)
            .output();
        let result = match result {
            Ok(result) => result,
            Err(e) => panic!(
                "these tests need the `cjpeg` program of libjpeg-turbo (package libjpeg-turbo-progs \
                 or libjpeg-turbo): running it failed: {e}"
            ),
        };
        assert!(
            result.status.success(),
            "cjpeg {args:?} failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::read(&output).unwrap()
    }

    fn decode_with<R: Read>(reader: R) -> Result<(Header, DcImage)> {
        let mut parser = Parser::new(Streamed::new(reader));
        let header = parser.read_header()?;
        let image = parser.decode_dc(&header, &Limits::default())?;
        Ok((header, image))
    }

    fn decode(bytes: &[u8]) -> Result<(Header, DcImage)> {
        decode_with(bytes)
    }

    /// libjpeg's 1x1 IDCT (`jpeg_idct_1x1`): the block mean, rounded, level-shifted, clamped.
    fn idct_1x1(dc: i16, q: u16) -> u8 {
        let value = ((i32::from(dc) * i32::from(q) + 4) >> 3) + 128;
        value.clamp(0, 255) as u8
    }

    /// libjpeg's own 1/8-scale decode: width, height, and the planes (Y only for gray files,
    /// else Y, Cb, Cr). `None` when libjpeg gives up on the file.
    fn libjpeg_eighth(bytes: &[u8], gray: bool) -> Option<(usize, usize, Vec<Vec<u8>>)> {
        let decoded = std::panic::catch_unwind(|| -> io::Result<_> {
            let mut d = mozjpeg::Decompress::new_mem(bytes)?;
            d.scale(1);
            // Block smoothing makes up AC and even DC values for blocks whose AC scans have not
            // arrived (a cut file); the comparison is with the coefficients themselves.
            d.do_block_smoothing(false);
            let mut started = if gray {
                d.grayscale()?
            } else {
                d.to_colorspace(mozjpeg::ColorSpace::JCS_YCbCr)?
            };
            let (w, h) = (started.width(), started.height());
            let pixels: Vec<u8> = started.read_scanlines()?;
            started.finish()?;
            let channels = if gray { 1 } else { 3 };
            let planes = (0..channels)
                .map(|c| pixels.iter().skip(c).step_by(channels).copied().collect())
                .collect();
            Ok((w, h, planes))
        });
        decoded.ok()?.ok()
    }

    /// Compares the DC planes with libjpeg's 1/8-scale output: exactly where one block gives one
    /// sample, within 1 for the mean of 2x2 samples (libjpeg's 2x2 IDCT for 4:2:0 chroma).
    fn assert_matches_libjpeg(bytes: &[u8], header: &Header, image: &DcImage, what: &str) {
        let gray = header.frame.components.len() == 1;
        let (w, h, reference) = libjpeg_eighth(bytes, gray)
            .unwrap_or_else(|| panic!("{what}: libjpeg could not decode the file"));
        let frame = &header.frame;
        assert_eq!(w, usize::from(frame.width).div_ceil(8), "{what}");
        assert_eq!(h, usize::from(frame.height).div_ceil(8), "{what}");
        let hmax = frame
            .components
            .iter()
            .map(|c| usize::from(c.h))
            .max()
            .unwrap();
        let vmax = frame
            .components
            .iter()
            .map(|c| usize::from(c.v))
            .max()
            .unwrap();
        for (c, samples) in reference.iter().enumerate() {
            let comp = frame.components[c];
            let plane = &image.planes[c];
            let (fx, fy) = (hmax / usize::from(comp.h), vmax / usize::from(comp.v));
            if fx * usize::from(comp.h) != hmax || fy * usize::from(comp.v) != vmax {
                continue;
            }
            if fx == 1 && fy == 1 {
                for y in 0..h {
                    for x in 0..w {
                        let ours = idct_1x1(plane.dc[y * plane.blocks_wide + x], plane.quant_dc);
                        assert_eq!(
                            ours,
                            samples[y * w + x],
                            "{what}: component {c}, sample ({x}, {y})"
                        );
                    }
                }
            } else if fx == 2 && fy == 2 {
                for by in 0..h / 2 {
                    for bx in 0..w / 2 {
                        let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                            .iter()
                            .map(|&(dx, dy)| u32::from(samples[(2 * by + dy) * w + 2 * bx + dx]))
                            .sum();
                        let mean = f64::from(sum) / 4.0;
                        let ours = idct_1x1(plane.dc[by * plane.blocks_wide + bx], plane.quant_dc);
                        assert!(
                            (f64::from(ours) - mean).abs() <= 1.0,
                            "{what}: component {c}, block ({bx}, {by}): ours {ours}, libjpeg {mean}"
                        );
                    }
                }
            }
        }
    }

    /// Generates the test files with cjpeg; returns (description, JPEG bytes).
    fn generate() -> Vec<(String, Vec<u8>)> {
        // Non-interleaved DC scans with successive approximation, then an interleaved refinement.
        const NON_INTERLEAVED: &str = "0: 0 0 0 1; 1: 0 0 0 1; 2: 0 0 0 1;\n\
            0: 1 63 0 0; 1: 1 63 0 0; 2: 1 63 0 0;\n\
            0 1 2: 0 0 1 0;\n";
        // Two DC refinements, the first non-interleaved and in another component order.
        const REFINE_SEPARATELY: &str = "0 1 2: 0 0 0 2;\n\
            0: 1 5 0 2; 0: 6 63 0 2; 1: 1 63 0 1; 2: 1 63 0 1;\n\
            2: 0 0 2 1; 0: 0 0 2 1; 1: 0 0 2 1;\n\
            0: 1 63 2 1; 0 1 2: 0 0 1 0; 0: 1 63 1 0; 1: 1 63 1 0; 2: 1 63 1 0;\n";
        let dir = tempfile::tempdir().unwrap();
        let script_path = dir.path().join("scans.txt");
        let script_arg = script_path.to_str().unwrap();
        let mut files = Vec::new();
        for &(w, h) in &[(203, 141), (197, 133), (17, 9), (1, 1), (64, 48)] {
            let image = ppm(w, h, (w * 1000 + h) as u64);
            let mut add = |name: &str, args: &[&str], script: Option<&str>| {
                let mut args = args.to_vec();
                if let Some(script) = script {
                    std::fs::write(&script_path, script).unwrap();
                    args.extend(["-scans", script_arg]);
                }
                args.extend(["-quality", "90"]);
                files.push((format!("{w}x{h} {name}"), cjpeg(dir.path(), &image, &args)));
            };
            add("4:2:0", &["-progressive"], None);
            add("4:4:4", &["-progressive", "-sample", "1x1"], None);
            add("4:2:2", &["-progressive", "-sample", "2x1"], None);
            add("gray", &["-progressive", "-grayscale"], None);
            add("4:2:0 restart", &["-progressive", "-restart", "1"], None);
            let gray_restart = ["-progressive", "-grayscale", "-restart", "1"];
            add("gray restart", &gray_restart, None);
            add("4:2:0 non-interleaved DC", &[], Some(NON_INTERLEAVED));
            add(
                "4:4:4 non-interleaved DC",
                &["-sample", "1x1"],
                Some(NON_INTERLEAVED),
            );
            let restart = ["-restart", "1"];
            add(
                "4:2:0 non-interleaved DC restart",
                &restart,
                Some(NON_INTERLEAVED),
            );
            add("4:2:0 two refinements", &[], Some(REFINE_SEPARATELY));
        }
        files
    }

    #[test]
    fn dc_planes_match_libjpeg_eighth_scale() {
        for (name, bytes) in generate() {
            let (header, image) = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(header.frame.kind.process(), Process::Progressive, "{name}");
            assert!(image.warnings.is_empty(), "{name}: {:?}", image.warnings);
            assert_eq!(image.planes.len(), header.frame.components.len());
            for (plane, comp) in image.planes.iter().zip(&header.frame.components) {
                let q = header.quant_tables[usize::from(comp.table)].unwrap();
                assert_eq!(plane.quant_dc, q.values[0], "{name}");
                assert_eq!(
                    plane.dc.len(),
                    plane.blocks_wide * plane.blocks_high,
                    "{name}"
                );
            }
            assert_matches_libjpeg(&bytes, &header, &image, &name);
        }
    }

    #[test]
    fn plane_sizes_are_padded_to_whole_mcus() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = cjpeg(dir.path(), &ppm(17, 9, 5), &["-progressive"]);
        let (_, image) = decode(&bytes).unwrap();
        // 4:2:0: one MCU is 16x16 pixels, so 17x9 takes 2x1 MCUs.
        let sizes: Vec<_> = image
            .planes
            .iter()
            .map(|p| (p.blocks_wide, p.blocks_high))
            .collect();
        assert_eq!(sizes, [(4, 2), (2, 1), (2, 1)]);
    }

    #[test]
    fn one_byte_reads_give_the_same_planes() {
        struct OneByteReader<'a>(&'a [u8]);
        impl Read for OneByteReader<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                if buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        for (name, bytes) in generate().into_iter().step_by(3) {
            let (_, whole) = decode(&bytes).unwrap();
            let (_, trickled) = decode_with(OneByteReader(&bytes)).unwrap();
            assert_eq!(whole, trickled, "{name}");
            // And cut short, where the data stops inside a scan.
            let cut = &bytes[..bytes.len() * 2 / 3];
            let (_, whole) = decode(cut).unwrap();
            let (_, trickled) = decode_with(OneByteReader(cut)).unwrap();
            assert_eq!(whole, trickled, "{name} cut");
        }
    }

    #[test]
    fn truncated_files_decode_like_libjpeg_or_fail_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            cjpeg(dir.path(), &ppm(203, 141, 7), &["-progressive"]),
            cjpeg(
                dir.path(),
                &ppm(197, 133, 8),
                &["-progressive", "-grayscale", "-restart", "1"],
            ),
        ];
        for bytes in &files {
            let (mut decoded, mut compared) = (0, 0);
            for percent in (0..100).step_by(7) {
                let cut = &bytes[..bytes.len() * percent / 100];
                match decode(cut) {
                    Ok((header, image)) => {
                        decoded += 1;
                        assert!(
                            image.warnings.iter().any(|w| w == "file ends before EOI"),
                            "{percent}%: {:?}",
                            image.warnings
                        );
                        // libjpeg reads a fake EOI at the end: the DC planes must agree.
                        let gray = header.frame.components.len() == 1;
                        if libjpeg_eighth(cut, gray).is_some() {
                            assert_matches_libjpeg(
                                cut,
                                &header,
                                &image,
                                &format!("cut {percent}%"),
                            );
                            compared += 1;
                        }
                    }
                    Err(Error::Truncated { .. } | Error::NotJpeg(_)) => {}
                    Err(e) => panic!("{percent}%: unexpected error {e}"),
                }
            }
            assert!(decoded > 10 && compared > 10, "{decoded} {compared}");
        }
    }

    #[test]
    fn damaged_restart_markers_resync_like_libjpeg() {
        let dir = tempfile::tempdir().unwrap();
        let good = cjpeg(
            dir.path(),
            &ppm(203, 141, 11),
            &["-progressive", "-restart", "1"],
        );
        // Restart markers inside DC scans (damage in AC scans does not reach the DC planes).
        let mut rst_positions = Vec::new();
        let (mut i, mut in_dc) = (2, false);
        while i + 1 < good.len() {
            if good[i] != 0xFF || good[i + 1] == 0 || good[i + 1] == 0xFF {
                i += 1;
                continue;
            }
            let code = good[i + 1];
            if markers::is_rst(code) {
                if in_dc {
                    rst_positions.push(i);
                }
                i += 2;
            } else if code == markers::EOI {
                break;
            } else {
                let len = usize::from(u16::from_be_bytes([good[i + 2], good[i + 3]]));
                if code == markers::SOS {
                    let ns = usize::from(good[i + 4]);
                    in_dc = good[i + 5 + 2 * ns] == 0;
                } else {
                    in_dc = false;
                }
                i += 2 + len;
            }
        }
        assert!(rst_positions.len() >= 8, "{}", rst_positions.len());
        let mut rng = Rng(99);
        let mut compared = 0;
        for round in 0..30 {
            let mut bytes = good.clone();
            let at = rst_positions[(rng.next() % rst_positions.len() as u64) as usize];
            match round % 5 {
                // A wrong restart number, too far ahead: libjpeg takes it for the expected one.
                0 => bytes[at + 1] = RST0 + (bytes[at + 1] - RST0 + 3) % 8,
                // The number of the previous marker: libjpeg skips to the next marker.
                3 => bytes[at + 1] = RST0 + (bytes[at + 1] - RST0 + 7) % 8,
                // A lost marker.
                1 => {
                    bytes.drain(at..at + 2);
                }
                // Data bytes lost before the marker.
                2 => {
                    bytes.drain(at.saturating_sub(5)..at);
                }
                // Garbage in the data.
                _ => {
                    for b in &mut bytes[at.saturating_sub(12)..at.saturating_sub(4)] {
                        *b = (rng.next() % 255) as u8;
                    }
                }
            }
            let (header, image) = decode(&bytes).unwrap();
            assert!(
                !image.warnings.is_empty() || round % 5 == 4,
                "round {round}"
            );
            // Garbage can make a marker that libjpeg then refuses (we stop at a segment that
            // runs past the end of the file instead); compare whenever libjpeg decodes.
            let gray = header.frame.components.len() == 1;
            if libjpeg_eighth(&bytes, gray).is_some() {
                assert_matches_libjpeg(&bytes, &header, &image, &format!("round {round}"));
                compared += 1;
            }
        }
        assert!(compared >= 25, "{compared}");
    }

    #[test]
    fn later_dqt_does_not_change_the_latched_quantizer() {
        let dir = tempfile::tempdir().unwrap();
        let good = cjpeg(dir.path(), &ppm(64, 48, 3), &["-progressive", "-grayscale"]);
        let (header, image) = decode(&good).unwrap();
        // Insert a DQT of all ones for table 0 before the second scan.
        let second_sos = (header.scan_offset as usize..good.len() - 1)
            .find(|&i| good[i] == 0xFF && good[i + 1] == markers::SOS)
            .unwrap();
        let mut bytes = good[..second_sos].to_vec();
        bytes.extend([0xFF, markers::DQT, 0x00, 0x43, 0x00]);
        bytes.extend([1u8; 64]);
        bytes.extend(&good[second_sos..]);
        let (header2, image2) = decode(&bytes).unwrap();
        assert_eq!(image2, image);
        assert_matches_libjpeg(&bytes, &header2, &image2, "DQT between scans");
    }

    #[test]
    fn garbage_after_the_header_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let good = cjpeg(
            dir.path(),
            &ppm(203, 141, 21),
            &["-progressive", "-restart", "1"],
        );
        let header = decode(&good).unwrap().0;
        let head = &good[..header.scan_offset as usize];
        let mut rng = Rng(12345);
        let mut outcomes = Vec::new();
        for round in 0..200 {
            let mut bytes = head.to_vec();
            let len = (rng.next() % 4000) as usize;
            for _ in 0..len {
                // Plenty of 0xFF so that markers and stuffing turn up.
                let r = rng.next();
                bytes.push(if r.is_multiple_of(5) {
                    0xFF
                } else {
                    (r >> 8) as u8
                });
            }
            if round % 2 == 0 {
                bytes.extend([0xFF, markers::EOI]);
            }
            // Random data is damaged data: an error, or planes with warnings.
            match decode(&bytes) {
                Ok((_, image)) => assert!(!image.warnings.is_empty(), "round {round}"),
                Err(e) => outcomes.push(e.to_string()),
            }
        }
        assert!(!outcomes.is_empty());
        // Random byte flips anywhere after the header.
        for _ in 0..200 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.next() % 8 {
                let span = bytes.len() - head.len();
                let at = head.len() + (rng.next() % span as u64) as usize;
                bytes[at] = (rng.next() >> 8) as u8;
            }
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn undefined_huffman_table_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = cjpeg(dir.path(), &ppm(64, 48, 4), &["-progressive"]);
        let sos = (0..good.len() - 1)
            .find(|&i| good[i] == 0xFF && good[i + 1] == markers::SOS)
            .unwrap();
        let mut bytes = good.clone();
        // SOS: length (2), Ns, then Cs and Td|Ta of the first component.
        bytes[sos + 6] = 0x30 | (bytes[sos + 6] & 15);
        match decode(&bytes) {
            Err(Error::Format {
                problem: Problem::Missing(what),
                ..
            }) => assert!(what.contains("DC Huffman table 3"), "{what}"),
            other => panic!("expected a missing-table error, got {other:?}"),
        }
    }

    #[test]
    fn dc_and_ac_in_one_progressive_scan_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = cjpeg(dir.path(), &ppm(32, 16, 2), &["-progressive"]);
        let sos = (0..bytes.len() - 1)
            .find(|&i| bytes[i] == 0xFF && bytes[i + 1] == markers::SOS)
            .unwrap();
        // After the length, Ns and Ns pairs: Ss, Se.
        let ns = usize::from(bytes[sos + 4]);
        bytes[sos + 6 + 2 * ns] = 63;
        assert!(matches!(
            decode(&bytes),
            Err(Error::Format {
                problem: Problem::BadValue { .. },
                ..
            })
        ));
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = cjpeg(dir.path(), &ppm(32, 16, 1), &[]);
        assert!(matches!(decode(&baseline), Err(Error::Unsupported(_))));
        let mut twelve = cjpeg(dir.path(), &ppm(32, 16, 1), &["-progressive"]);
        let sof = (0..twelve.len() - 1)
            .find(|&i| twelve[i] == 0xFF && twelve[i + 1] == 0xC2)
            .unwrap();
        twelve[sof + 4] = 12;
        assert!(matches!(decode(&twelve), Err(Error::Unsupported(_))));
        let limits = Limits {
            max_alloc: 10,
            ..Limits::default()
        };
        let bytes = cjpeg(dir.path(), &ppm(64, 48, 1), &["-progressive"]);
        let mut parser = Parser::new(Streamed::new(&bytes[..]));
        let header = parser.read_header().unwrap();
        assert!(matches!(
            parser.decode_dc(&header, &limits),
            Err(Error::LimitExceeded { .. })
        ));
    }

    /// Timing on a real file: `JPGTOOL_DC_BENCH=big.jpg cargo test --release --lib
    /// jpeg::dc::tests::time_decode_dc -- --ignored --nocapture`. Reads the file once from disk,
    /// then decodes it from memory `JPGTOOL_DC_RUNS` times (5) and reports the best time.
    #[test]
    #[ignore]
    fn time_decode_dc() {
        let Some(path) = std::env::var_os("JPGTOOL_DC_BENCH") else {
            eprintln!("set JPGTOOL_DC_BENCH to a progressive JPEG");
            return;
        };
        let started = std::time::Instant::now();
        let file = std::fs::File::open(&path).unwrap();
        let mut parser = Parser::new(crate::jpeg::Seekable::with_capacity(1 << 20, file));
        let header = parser.read_header().unwrap();
        let image = parser.decode_dc(&header, &Limits::default()).unwrap();
        let from_file = started.elapsed();
        let mb = parser.offset() as f64 / 1e6;
        let blocks: usize = image.planes.iter().map(|p| p.dc.len()).sum();
        eprintln!(
            "{}x{}, {blocks} blocks, {mb:.1} MB: {from_file:.2?} from the file, warnings {:?}",
            header.frame.width, header.frame.height, image.warnings
        );
        if mb > 1000.0 {
            return;
        }
        let bytes = std::fs::read(&path).unwrap();
        let runs: usize = std::env::var("JPGTOOL_DC_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let best = (0..runs.max(1))
            .map(|_| {
                let t = std::time::Instant::now();
                let mut parser = Parser::new(Streamed::new(&bytes[..]));
                let header = parser.read_header().unwrap();
                parser.decode_dc(&header, &Limits::default()).unwrap();
                t.elapsed()
            })
            .min()
            .unwrap();
        eprintln!(
            "best of {runs} from memory: {best:.2?} ({:.0} MB/s)",
            mb / best.as_secs_f64()
        );
    }

    #[test]
    fn huffman_tables_refuse_all_ones_codes_and_overflow() {
        let table = |counts: [u8; 16], values: Vec<u8>| HuffmanTable {
            class: 0,
            slot: 0,
            counts,
            values,
        };
        let mut counts = [0u8; 16];
        counts[0] = 2; // codes 0 and 1 of length 1: "1" is all ones
        assert!(HuffDecoder::new(&table(counts, vec![0, 1])).is_none());
        counts[0] = 3;
        assert!(HuffDecoder::new(&table(counts, vec![0, 1, 2])).is_none());
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 1;
        let dec = HuffDecoder::new(&table(counts, vec![4, 7])).unwrap();
        // "0" -> 4, "10" -> 7, "11..." is no code.
        let mut bits = Bits {
            acc: 0b0101_1111u64 << 56,
            n: 32,
            ..Bits::default()
        };
        assert_eq!(dec.decode(&mut bits), 4);
        assert_eq!(dec.decode(&mut bits), 7);
        assert_eq!(dec.decode(&mut bits), 0);
        assert!(bits.bad_code);
        assert!(HuffDecoder::new(&table(counts, vec![4, 16])).is_none());
    }
}
