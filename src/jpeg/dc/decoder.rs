//! The decoder state carried from scan to scan, and the MCU loop of a DC scan.

use super::geometry::Geometry;
use super::{DcImage, DcPlane};
use crate::error::{Error, Problem, Result};
use crate::jpeg::between_scans::ScanTables;
use crate::jpeg::input::Cursor;
use crate::jpeg::scan::{
    Bits, HuffDecoder, Stop, Warnings, dc_difference, find_marker, process_restart,
};
use crate::jpeg::segments::{Frame, HuffmanTable, QuantTable, ScanHeader};
use crate::jpeg::{Header, Input};

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

/// State carried from scan to scan.
pub(super) struct Decoder<'h> {
    frame: &'h Frame,
    geometry: Geometry,
    planes: Vec<Vec<i16>>,
    /// Quantization tables currently defined (DQT may replace them between scans).
    pub(super) quant: [Option<QuantTable>; 4],
    /// Per component: entry 0 of its table when its first scan started (libjpeg's
    /// `latch_quant_tables`), so a later DQT does not change an image already being decoded.
    latched: Vec<Option<u16>>,
    dc_tables: [Option<HuffmanTable>; 4],
    /// Lookup tables built from `dc_tables`, cached until a DHT replaces the table.
    dc_decoders: [Option<Box<HuffDecoder>>; 4],
    ac_defined: [bool; 4],
    pub(super) restart_interval: u16,
    /// Per component: Al of the last DC scan, i.e. the lowest DC bit known (libjpeg's
    /// `coef_bits[c][0]`); `None` before the first DC scan.
    dc_low_bit: Vec<Option<u8>>,
    pub(super) warnings: Warnings,
    /// The input ended before EOI.
    pub(super) truncated: bool,
}

impl<'h> Decoder<'h> {
    pub(super) fn new(header: &'h Header, geometry: Geometry, planes: Vec<Vec<i16>>) -> Self {
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
    pub(super) fn define_huffman(&mut self, table: HuffmanTable) {
        let slot = usize::from(table.slot & 3);
        if table.class == 0 {
            self.dc_tables[slot] = Some(table);
            self.dc_decoders[slot] = None;
        } else {
            self.ac_defined[slot] = true;
        }
    }

    /// Decodes one scan whose entropy-coded data starts at the cursor; returns the marker that
    /// ended it (consumed) or the end of input.
    pub(super) fn scan<I: Input>(
        &mut self,
        cur: &mut Cursor<I>,
        scan: &ScanHeader,
        at: u64,
    ) -> Result<Stop> {
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
        validate_scan(self.frame, scan, at)?;
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

        let dc_scan = scan.ss == 0;
        track_progression(self.frame, scan, &mut self.dc_low_bit, &mut self.warnings);

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
                    bits.settle(
                        cur.offset,
                        &mut insufficient,
                        &mut warned_bad_code,
                        &mut warned_premature,
                        warnings,
                    )?;
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

    pub(super) fn finish(mut self) -> DcImage {
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

/// Progression bookkeeping as in libjpeg, where out-of-order scans are warnings: a DC scan must
/// refine from the lowest bit known so far (`dc_low_bit`, per component: Al of its last DC scan,
/// libjpeg's `coef_bits[c][0]`), and an AC scan must come after its component's DC scan.
pub(crate) fn track_progression(
    frame: &Frame,
    scan: &ScanHeader,
    dc_low_bit: &mut [Option<u8>],
    warnings: &mut Warnings,
) {
    let dc_scan = scan.ss == 0;
    for sc in &scan.components {
        let id = frame.components[sc.index].id;
        let known = dc_low_bit[sc.index];
        if dc_scan {
            let expected = known.unwrap_or(0);
            if scan.ah != expected {
                let ah = scan.ah;
                warnings.push(|| {
                    format!(
                        "inconsistent progression: DC scan of component {id} with Ah={ah} \
                         where {expected} was expected"
                    )
                });
            }
            dc_low_bit[sc.index] = Some(scan.al);
        } else if known.is_none() {
            warnings.push(|| {
                format!("inconsistent progression: AC scan of component {id} before its DC scan")
            });
        }
    }
}

/// Checks a scan header against the rules of progressive mode (G.1.1.1), the way libjpeg's
/// `start_pass_phuff_decoder` does: a violation is fatal there too.
pub(crate) fn validate_scan(frame: &Frame, scan: &ScanHeader, at: u64) -> Result<()> {
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
                let c = &frame.components[sc.index];
                u32::from(c.h) * u32::from(c.v)
            })
            .sum();
        if blocks > 10 {
            return Err(bad("blocks per MCU", blocks.min(255) as u8));
        }
    }
    Ok(())
}

impl ScanTables for Decoder<'_> {
    fn define_huffman(&mut self, table: HuffmanTable) {
        Decoder::define_huffman(self, table);
    }
    fn define_quant(&mut self, slot: u8, table: QuantTable) {
        self.quant[usize::from(slot & 3)] = Some(table);
    }
    fn set_restart_interval(&mut self, interval: u16) {
        self.restart_interval = interval;
    }
    fn extraneous(&mut self, bytes: u64, next: Stop) {
        self.warnings.extraneous(bytes, next);
    }
}
