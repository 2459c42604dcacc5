//! The DCT-coefficient layer for progressive files scaled by 1/2 or 1/4: every scan is
//! Huffman-decoded (T.81 G.1.2), AC refinement scans included, but each block keeps only the
//! coefficients libjpeg's `N x N` reduced IDCT reads (7x7 of the 8x8 for N = 4, 5x5 for N = 2;
//! see `store`), plus a 64-bit mask of the coefficients that are non-zero, since the
//! syntax of a refinement scan depends on it. That is 82 bytes per block for 1/2 and 46 for
//! 1/4, against libjpeg's 128.
//!
//! When even that does not fit the memory budget, the image is decoded in horizontal bands of
//! MCU rows, one pass over the file per band. Each pass decodes, in every scan, only the rows
//! of its band and records the entropy decoder's state where the band ends (input offset, bit
//! buffer, end-of-band run, DC predictors, restart counters); the next pass seeks to that state
//! instead of decoding the rows before it again. So the entropy-coded data is decoded once in
//! all, whatever the number of bands; only the headers between scans are read again.

mod ac;
mod scan;
mod store;

use std::ops::Range;

use super::between_scans::{Next, ScanTables};
use super::dc::{Geometry, track_progression, validate_scan};
use super::scan::{HuffDecoder, Stop, Warnings};
use super::segments;
use super::{Header, Input, Parser, Process};
use crate::error::{Error, Problem, Result};
use crate::limits::Limits;
use scan::{Kind, Resume, ScanComp, ScanPlan, ScanState};
use store::{ComponentBand, Layout, value};

/// How an image will be decoded: coefficients kept per block and bands of MCU rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandPlan {
    /// Side `N` of the scaled output block the kept coefficients serve: 2 for 1/4, 4 for 1/2
    /// (1 keeps the DC, 8 every coefficient).
    pub keep: usize,
    /// Bytes of the compact store for the whole image.
    pub store_bytes: u64,
    /// MCU rows per band.
    pub band_rows: usize,
    /// Bands, that is passes over the file.
    pub passes: usize,
}

/// Plans the bands for `header` before anything is decoded: as many passes as it takes for one
/// band's store to fit in `budget` bytes.
pub fn plan_bands(header: &Header, keep: usize, budget: u64) -> Result<BandPlan> {
    check_supported(header, keep)?;
    let geometry = Geometry::new(&header.frame)?;
    let layout = Layout::new(keep);
    let row_bytes = mcu_row_bytes(&geometry, &layout);
    let store_bytes = row_bytes.saturating_mul(geometry.mcus_y as u64);
    let fit = budget.checked_div(row_bytes).unwrap_or(u64::MAX);
    if fit == 0 {
        return Err(Error::LimitExceeded {
            what: "one MCU row of the progressive coefficient store in bytes (--max-memory)",
            value: row_bytes,
            limit: budget,
        });
    }
    let mcus_y = geometry.mcus_y.max(1);
    let band_rows = usize::try_from(fit).unwrap_or(usize::MAX).min(mcus_y);
    let passes = mcus_y.div_ceil(band_rows);
    // Even bands: the same number of passes with no band taller than it needs to be.
    let band_rows = mcus_y.div_ceil(passes);
    Ok(BandPlan {
        keep,
        store_bytes,
        band_rows,
        passes,
    })
}

/// Bytes of one MCU row of the store, every component.
fn mcu_row_bytes(geometry: &Geometry, layout: &Layout) -> u64 {
    geometry
        .plane_w
        .iter()
        .zip(&geometry.plane_h)
        .map(|(&w, &h)| {
            let rows_per_mcu = h / geometry.mcus_y.max(1);
            layout.bytes(w as u64 * rows_per_mcu as u64)
        })
        .sum()
}

/// Refuses what this decoder does not handle, before anything is allocated.
fn check_supported(header: &Header, keep: usize) -> Result<()> {
    let frame = &header.frame;
    let kind = frame.kind;
    let refusal = if !matches!(keep, 1 | 2 | 4 | 8) {
        format!("keeping {keep}x{keep} coefficients per block")
    } else if kind.process() != Process::Progressive
        || kind.is_hierarchical()
        || header.hierarchical
    {
        format!(
            "band decoding needs a progressive frame (SOF2), not {}",
            kind.name()
        )
    } else if kind.is_arithmetic() {
        "band decoding of arithmetic-coded progressive JPEG (SOF10)".into()
    } else if frame.precision != 8 {
        format!("band decoding of {}-bit samples", frame.precision)
    } else if frame.height == 0 {
        "an image height given by a DNL marker".into()
    } else {
        return Ok(());
    };
    Err(Error::Unsupported(refusal))
}

/// One band of decoded coefficients, handed out by [`BandDecoder::next_band`].
pub struct BandView<'a> {
    decoder: &'a BandDecoder<'a>,
}

/// Decodes a progressive frame band by band (see the module docs).
pub struct BandDecoder<'h> {
    header: &'h Header,
    plan: BandPlan,
    layout: Layout,
    geometry: Geometry,
    bands: Vec<ComponentBand>,
    /// The next band to decode.
    next: usize,
    /// Per scan, in file order: where the band decoded last stopped in it.
    resumes: Vec<Option<Resume>>,
    /// Per scan: the marker that ends its data and the offset after it (from the first pass).
    scan_ends: Vec<(u64, Stop)>,
    /// Per component: its quantization table when its first scan started (libjpeg's
    /// `latch_quant_tables`).
    latched: Vec<Option<[u16; 64]>>,
    /// Per component: Al of its last DC scan; `None` before the first.
    dc_low_bit: Vec<Option<u8>>,
    warnings: Warnings,
    truncated: bool,
}

/// Huffman and quantization tables, restart interval: what segments between scans change.
struct Tables {
    quant: [Option<segments::QuantTable>; 4],
    dc: [Option<Box<HuffDecoder>>; 4],
    ac: [Option<Box<HuffDecoder>>; 4],
    dc_bad: [bool; 4],
    ac_bad: [bool; 4],
    restart_interval: u16,
}

impl Tables {
    fn new(header: &Header) -> Self {
        let mut tables = Tables {
            quant: header.quant_tables,
            dc: Default::default(),
            ac: Default::default(),
            dc_bad: [false; 4],
            ac_bad: [false; 4],
            restart_interval: header.restart_interval,
        };
        for table in &header.huffman_tables {
            tables.define(table);
        }
        tables
    }

    /// DHT (B.2.4.2): a table replaces the one in its slot from the next scan on. A table
    /// libjpeg would refuse is an error only if a scan uses it.
    fn define(&mut self, table: &segments::HuffmanTable) {
        let slot = usize::from(table.slot & 3);
        let decoder = HuffDecoder::new(table).map(Box::new);
        let bad = decoder.is_none();
        if table.class == 0 {
            self.dc[slot] = decoder;
            self.dc_bad[slot] = bad;
        } else {
            self.ac[slot] = decoder;
            self.ac_bad[slot] = bad;
        }
    }

    fn table(&self, ac: bool, slot: u8, at: u64) -> Result<&HuffDecoder> {
        const NAMES: [[&str; 4]; 2] = [
            [
                "DC Huffman table 0 (DHT)",
                "DC Huffman table 1 (DHT)",
                "DC Huffman table 2 (DHT)",
                "DC Huffman table 3 (DHT)",
            ],
            [
                "AC Huffman table 0 (DHT)",
                "AC Huffman table 1 (DHT)",
                "AC Huffman table 2 (DHT)",
                "AC Huffman table 3 (DHT)",
            ],
        ];
        let slot = usize::from(slot & 3);
        let (decoders, bad) = if ac {
            (&self.ac, &self.ac_bad)
        } else {
            (&self.dc, &self.dc_bad)
        };
        match &decoders[slot] {
            Some(decoder) => Ok(decoder),
            None => Err(Error::Format {
                offset: at,
                segment: "SOS",
                problem: if bad[slot] {
                    Problem::BadHuffmanTable
                } else {
                    Problem::Missing(NAMES[usize::from(ac)][slot])
                },
            }),
        }
    }
}

impl<'h> BandDecoder<'h> {
    /// A decoder for `header` (already read from the parser that will be passed to
    /// `next_band`), under `plan`. The band's store is allocated here, after checking it
    /// against `limits.max_alloc`.
    pub fn new(header: &'h Header, plan: BandPlan, limits: &Limits) -> Result<Self> {
        check_supported(header, plan.keep)?;
        let geometry = Geometry::new(&header.frame)?;
        let layout = Layout::new(plan.keep);
        let band_bytes = mcu_row_bytes(&geometry, &layout).saturating_mul(plan.band_rows as u64);
        limits.check_alloc(band_bytes)?;
        let mut bands = Vec::new();
        for (c, &w) in geometry.plane_w.iter().enumerate() {
            let per_mcu = geometry.plane_h[c] / geometry.mcus_y.max(1);
            let rows = (plan.band_rows * per_mcu).min(geometry.plane_h[c]);
            bands.push(ComponentBand::new(&layout, w, 0, rows)?);
        }
        let n = header.frame.components.len();
        Ok(BandDecoder {
            header,
            plan,
            layout,
            geometry,
            bands,
            next: 0,
            resumes: Vec::new(),
            scan_ends: Vec::new(),
            latched: vec![None; n],
            dc_low_bit: vec![None; n],
            warnings: Warnings::default(),
            truncated: false,
        })
    }

    /// The plan this decoder follows.
    pub fn plan(&self) -> BandPlan {
        self.plan
    }

    /// Decodes the next band: for the first, `parser` stands after the header it was made from;
    /// for the others it is rewound to the start of the file (the input must seek). Returns
    /// `None` after the last band.
    pub fn next_band<I: Input>(&mut self, parser: &mut Parser<I>) -> Result<Option<BandView<'_>>> {
        if self.next >= self.plan.passes {
            return Ok(None);
        }
        let band = self.next;
        self.next += 1;
        let mcus_y = self.geometry.mcus_y;
        let first = band * self.plan.band_rows;
        let last = ((band + 1) * self.plan.band_rows).min(mcus_y);
        for (c, store) in self.bands.iter_mut().enumerate() {
            let per_mcu = self.geometry.plane_h[c] / mcus_y.max(1);
            store.reset(
                first * per_mcu,
                (last - first) * per_mcu,
                self.layout.record,
            );
        }
        if band > 0 {
            parser.cur.seek_to(0)?;
            let header = parser.read_header()?;
            if header.frame != self.header.frame || header.scan_offset != self.header.scan_offset {
                return Err(changed(parser.cur.offset));
            }
        }
        self.pass(parser, band, first..last)?;
        Ok(Some(BandView { decoder: self }))
    }

    /// Warnings libjpeg would give (damaged data, missing scans), once the last band is done.
    pub fn warnings(&mut self) -> Vec<String> {
        let mut warnings = std::mem::take(&mut self.warnings);
        if self.truncated {
            warnings.push(|| "file ends before EOI".into());
        }
        for (c, comp) in self.header.frame.components.iter().enumerate() {
            let id = comp.id;
            match self.dc_low_bit[c] {
                None => warnings
                    .push(|| format!("no DC scan for component {id}: its blocks are left at zero")),
                Some(al) if al > 0 => warnings.push(|| {
                    format!(
                        "DC of component {id} lacks its {al} lowest bits: a DC refinement scan \
                         is missing"
                    )
                }),
                Some(_) => {}
            }
        }
        let mut list = warnings.into_vec();
        list.dedup();
        list
    }

    /// One pass over the file: every scan, the MCU rows `rows` of each.
    fn pass<I: Input>(
        &mut self,
        parser: &mut Parser<I>,
        band: usize,
        rows: Range<usize>,
    ) -> Result<()> {
        let header = self.header;
        let frame = &header.frame;
        let last_band = band + 1 == self.plan.passes;
        let mut tables = Tables::new(header);
        let mut scan = header.first_scan.clone();
        let mut scan_at = header.scan_offset;
        let mut index = 0usize;
        let mut buf = Vec::new();
        parser.limits.check_scans(1)?;

        loop {
            let stop = self.scan(
                parser, &tables, &scan, scan_at, index, band, last_band, &rows,
            )?;
            index += 1;
            // Warnings of the bytes between scans are given once, by the first band's pass.
            let warnings = (band == 0).then_some(&mut self.warnings);
            let mut between = Between {
                tables: &mut tables,
                warnings,
            };
            match parser.walk_between_scans(stop, frame, &mut buf, &mut between)? {
                Next::Scan(next_scan, at) => {
                    scan = next_scan;
                    scan_at = at;
                    parser
                        .limits
                        .check_scans(u32::try_from(index + 1).unwrap_or(u32::MAX))?;
                }
                Next::End => break,
                Next::Truncated => {
                    self.truncated = true;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Decodes the band's rows of one scan, whose data starts at the parser's cursor; returns
    /// the marker that ends the scan (consumed) or the end of input.
    #[allow(clippy::too_many_arguments)]
    fn scan<I: Input>(
        &mut self,
        parser: &mut Parser<I>,
        tables: &Tables,
        scan: &segments::ScanHeader,
        at: u64,
        index: usize,
        band: usize,
        last_band: bool,
        rows: &Range<usize>,
    ) -> Result<Stop> {
        let frame = &self.header.frame;
        if let Some(sc) = scan
            .components
            .iter()
            .find(|sc| sc.index >= self.bands.len())
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
        validate_scan(frame, scan, at)?;
        for sc in &scan.components {
            if self.latched[sc.index].is_none() {
                let slot = frame.components[sc.index].table;
                let Some(table) = tables.quant[usize::from(slot & 3)] else {
                    return Err(Error::Format {
                        offset: at,
                        segment: "SOS",
                        problem: Problem::UndefinedTable(slot),
                    });
                };
                self.latched[sc.index] = Some(table.values);
            }
        }
        let dc_scan = scan.ss == 0;
        if band == 0 {
            track_progression(
                &self.header.frame,
                scan,
                &mut self.dc_low_bit,
                &mut self.warnings,
            );
        }
        let kind = match (dc_scan, scan.ah != 0) {
            (true, false) => Kind::DcFirst,
            (true, true) => Kind::DcRefine,
            (false, false) => Kind::AcFirst,
            (false, true) => Kind::AcRefine,
        };
        let empty = HuffDecoder::empty();
        let single = scan.components.len() == 1;
        let mut comps = Vec::with_capacity(scan.components.len());
        for sc in &scan.components {
            let c = &frame.components[sc.index];
            let table = match kind {
                Kind::DcFirst => tables.table(false, sc.dc_table, at)?,
                Kind::DcRefine => &empty,
                Kind::AcFirst | Kind::AcRefine => tables.table(true, sc.ac_table, at)?,
            };
            let (h, v) = if single {
                (1, 1)
            } else {
                (usize::from(c.h), usize::from(c.v))
            };
            comps.push(ScanComp {
                index: sc.index,
                h,
                v,
                table,
            });
        }
        // A.2.2 / A.2.3: a one-component scan covers the component's own blocks, row by row.
        let (mcus_x, mcus_y, per_mcu) = if single {
            let c = scan.components[0].index;
            let per_mcu = self.geometry.plane_h[c] / self.geometry.mcus_y.max(1);
            (self.geometry.comp_w[c], self.geometry.comp_h[c], per_mcu)
        } else {
            (self.geometry.mcus_x, self.geometry.mcus_y, 1)
        };
        let plan = ScanPlan {
            kind,
            band: ac::Band {
                ss: usize::from(scan.ss),
                se: usize::from(scan.se),
                al: u32::from(scan.al),
            },
            comps,
            mcus_x,
            restart_interval: usize::from(tables.restart_interval),
        };
        let scan_rows = (rows.start * per_mcu).min(mcus_y)..(rows.end * per_mcu).min(mcus_y);

        let cur = &mut parser.cur;
        let mut state = if band == 0 {
            ScanState::start(plan.restart_interval)
        } else {
            let Some(Some(resume)) = self.resumes.get(index) else {
                return Err(changed(at));
            };
            cur.seek_to(resume.offset)?;
            ScanState::resume(resume)
        };
        scan::decode_rows(
            cur,
            &plan,
            &mut state,
            scan_rows,
            &self.layout,
            &mut self.bands,
            &mut self.warnings,
        )?;
        if last_band {
            return Ok(scan::finish_scan(cur, &state, &mut self.warnings)?);
        }
        let resume = state.snapshot(cur.offset);
        if band == 0 {
            let stop = scan::skip_scan(cur, &state)?;
            self.resumes.push(Some(resume));
            self.scan_ends.push((cur.offset, stop));
            Ok(stop)
        } else {
            let Some(&(end, stop)) = self.scan_ends.get(index) else {
                return Err(changed(at));
            };
            self.resumes[index] = Some(resume);
            cur.seek_to(end)?;
            Ok(stop)
        }
    }
}

/// The file read in a later pass is not the one the first pass read.
fn changed(offset: u64) -> Error {
    Error::Format {
        offset,
        segment: "SOS",
        problem: Problem::BadValue {
            field: "scan layout (the input changed between band passes)",
            value: 0,
        },
    }
}

impl BandView<'_> {
    /// MCU rows of this band.
    pub fn mcu_rows(&self) -> Range<usize> {
        let plan = self.decoder.plan;
        let band = self.decoder.next - 1;
        let first = band * plan.band_rows;
        first..((band + 1) * plan.band_rows).min(self.decoder.geometry.mcus_y)
    }

    /// Block rows of component `c` in this band (rows of its plane padded to whole MCUs).
    pub fn block_rows(&self, c: usize) -> Range<usize> {
        let store = &self.decoder.bands[c];
        store.first_row..store.first_row + store.rows
    }

    /// Blocks per row of component `c`, padded to whole MCUs.
    pub fn blocks_wide(&self, c: usize) -> usize {
        self.decoder.bands[c].blocks_wide
    }

    /// The quantization table of component `c` in natural order, as latched when its first
    /// scan started; zeros for a component that no scan named (its blocks are all zero).
    pub fn quant(&self, c: usize) -> [u16; 64] {
        self.decoder.latched[c].unwrap_or([0; 64])
    }

    /// The dequantized kept coefficients of block (row, col) of component `c`, in natural
    /// (row-major 8x8) order, into `out`; `quant` is [`Self::quant`]. The other positions (the
    /// frequencies an `N x N` scaled IDCT does not read, for the plan's `N`) are zero.
    #[inline]
    pub fn dequantized(
        &self,
        c: usize,
        row: usize,
        col: usize,
        quant: &[u16; 64],
        out: &mut [i32; 64],
    ) {
        let decoder = self.decoder;
        let layout = &decoder.layout;
        let record = decoder.bands[c].record(layout.record, row, col);
        *out = [0; 64];
        // The DC and the non-zero kept coefficients: most of the 49 (25) are zero.
        let mut mask = (store::nonzero_mask(record) | 1) & layout.kept_mask;
        while mask != 0 {
            let z = mask.trailing_zeros() as usize;
            let (natural, at) = layout.kept_at[z];
            let k = usize::from(natural);
            out[k] = value(record, at) * i32::from(quant[k]);
            mask &= mask - 1;
        }
    }
}

/// The tables of one pass and, for the first band's pass only, the warnings: what the walk
/// between scans updates.
struct Between<'a> {
    tables: &'a mut Tables,
    warnings: Option<&'a mut Warnings>,
}

impl ScanTables for Between<'_> {
    fn define_huffman(&mut self, table: segments::HuffmanTable) {
        self.tables.define(&table);
    }
    fn define_quant(&mut self, slot: u8, table: segments::QuantTable) {
        self.tables.quant[usize::from(slot & 3)] = Some(table);
    }
    fn set_restart_interval(&mut self, interval: u16) {
        self.tables.restart_interval = interval;
    }
    fn extraneous(&mut self, bytes: u64, next: Stop) {
        if let Some(warnings) = &mut self.warnings {
            warnings.extraneous(bytes, next);
        }
    }
}
