//! The MCU loop of one progressive scan over a range of rows (one band), with the state that
//! lets a later pass resume the scan exactly where this band ended.

use std::io;
use std::ops::Range;

use super::ac::{self, Band};
use super::store::{ComponentBand, Layout};
use crate::error::Result;
use crate::jpeg::input::Cursor;
use crate::jpeg::scan::{Bits, HuffDecoder, Stop, Warnings, process_restart};
use crate::jpeg::{Input, markers};

/// Which of the four kinds of progressive scan (G.1.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

/// One component of the scan being decoded.
pub(super) struct ScanComp<'t> {
    /// Index into the frame's components (and the bands).
    pub(super) index: usize,
    /// Blocks per MCU across and down (1x1 in a non-interleaved scan).
    pub(super) h: usize,
    pub(super) v: usize,
    /// Huffman table: DC for a first DC scan, AC for AC scans, unused for DC refinement.
    pub(super) table: &'t HuffDecoder,
}

/// Everything fixed for the duration of a scan.
pub(super) struct ScanPlan<'t> {
    pub(super) kind: Kind,
    pub(super) band: Band,
    pub(super) comps: Vec<ScanComp<'t>>,
    /// MCUs per row of the scan (blocks per row for a one-component scan).
    pub(super) mcus_x: usize,
    pub(super) restart_interval: usize,
}

/// The entropy decoder's state at an MCU boundary: enough to resume a scan in a later pass.
#[derive(Clone, Copy, Debug)]
pub(super) struct Resume {
    /// Input offset of the next unread byte.
    pub(super) offset: u64,
    acc: u64,
    n: u32,
    stop: Option<Stop>,
    eobrun: u32,
    preds: [i32; 4],
    restarts_to_go: usize,
    next_restart: u8,
    insufficient: bool,
}

/// The live state of a scan.
#[derive(Default)]
pub(super) struct ScanState {
    pub(super) bits: Bits,
    eobrun: u32,
    preds: [i32; 4],
    restarts_to_go: usize,
    next_restart: u8,
    /// libjpeg's `insufficient_data`: after the data of a restart interval ran out, its
    /// remaining MCUs are left as they are.
    insufficient: bool,
    warned_premature: bool,
    warned_bad_code: bool,
}

impl ScanState {
    /// The state at the start of a scan's data.
    pub(super) fn start(restart_interval: usize) -> Self {
        ScanState {
            restarts_to_go: restart_interval,
            ..ScanState::default()
        }
    }

    pub(super) fn snapshot(&self, offset: u64) -> Resume {
        Resume {
            offset,
            acc: self.bits.acc,
            n: self.bits.n,
            stop: self.bits.stop,
            eobrun: self.eobrun,
            preds: self.preds,
            restarts_to_go: self.restarts_to_go,
            next_restart: self.next_restart,
            insufficient: self.insufficient,
        }
    }

    /// The state a snapshot recorded; the caller seeks the input to `resume.offset`.
    pub(super) fn resume(resume: &Resume) -> Self {
        ScanState {
            bits: Bits {
                acc: resume.acc,
                n: resume.n,
                stop: resume.stop,
                ..Bits::default()
            },
            eobrun: resume.eobrun,
            preds: resume.preds,
            restarts_to_go: resume.restarts_to_go,
            next_restart: resume.next_restart,
            insufficient: resume.insufficient,
            ..ScanState::default()
        }
    }
}

/// Decodes scan rows `rows` (MCU rows; block rows of a one-component scan) into `bands`, in the
/// block order of A.2, with restart intervals handled as libjpeg's `process_restart` does.
pub(super) fn decode_rows<I: Input>(
    cur: &mut Cursor<I>,
    plan: &ScanPlan<'_>,
    state: &mut ScanState,
    rows: Range<usize>,
    layout: &Layout,
    bands: &mut [ComponentBand],
    warnings: &mut Warnings,
) -> Result<()> {
    let record = layout.record;
    let slots = &layout.slots;
    let interval = plan.restart_interval;
    let al = plan.band.al;
    let dc_at = layout.value_base as u16;
    for my in rows {
        for mx in 0..plan.mcus_x {
            if interval != 0 {
                if state.restarts_to_go == 0 {
                    process_restart(&mut state.bits, cur, state.next_restart, warnings)?;
                    state.next_restart = (state.next_restart + 1) & 7;
                    state.preds = [0; 4];
                    state.eobrun = 0;
                    state.restarts_to_go = interval;
                    if state.bits.stop.is_none() {
                        state.insufficient = false;
                    }
                }
                state.restarts_to_go -= 1;
            }
            if state.insufficient {
                continue;
            }
            for (k, comp) in plan.comps.iter().enumerate() {
                let band = &mut bands[comp.index];
                for by in 0..comp.v {
                    let row = my * comp.v + by;
                    for bx in 0..comp.h {
                        let rec = band.record_mut(record, row, mx * comp.h + bx);
                        let bits = &mut state.bits;
                        match plan.kind {
                            Kind::DcFirst => ac::dc_first(
                                bits,
                                cur,
                                comp.table,
                                &mut state.preds[k],
                                al,
                                rec,
                                dc_at,
                            )?,
                            Kind::DcRefine => ac::dc_refine(bits, cur, al, rec, dc_at)?,
                            Kind::AcFirst => ac::ac_first(
                                bits,
                                cur,
                                comp.table,
                                slots,
                                plan.band,
                                &mut state.eobrun,
                                rec,
                            )?,
                            Kind::AcRefine => {
                                let nonzero = layout.nonzero_mask(rec);
                                ac::ac_refine(
                                    bits,
                                    cur,
                                    comp.table,
                                    slots,
                                    plan.band,
                                    &mut state.eobrun,
                                    rec,
                                    nonzero,
                                )?
                            }
                        }
                    }
                }
            }
            let bits = &mut state.bits;
            if bits.trouble() {
                bits.settle(
                    cur.offset,
                    &mut state.insufficient,
                    &mut state.warned_bad_code,
                    &mut state.warned_premature,
                    warnings,
                )?;
            }
        }
    }
    Ok(())
}

/// After a scan's last row: the data should end at a marker (B.1.1.5); whole bytes left over
/// are garbage, which libjpeg reports. Returns the marker (consumed) or the end of input.
pub(super) fn finish_scan<I: Input>(
    cur: &mut Cursor<I>,
    state: &ScanState,
    warnings: &mut Warnings,
) -> io::Result<Stop> {
    let leftover = u64::from(state.bits.n / 8);
    let (stop, skipped) = match state.bits.stop {
        Some(stop) => (stop, 0),
        None => crate::jpeg::scan::find_marker(cur, false)?,
    };
    warnings.extraneous(leftover + skipped, stop);
    Ok(stop)
}

/// Passes over the rest of a scan's data without decoding it: to its end marker, consumed. A
/// restart marker where the band stopped belongs to the data, not to its end.
pub(super) fn skip_scan<I: Input>(cur: &mut Cursor<I>, state: &ScanState) -> io::Result<Stop> {
    match state.bits.stop {
        Some(Stop::Marker(code)) if markers::is_rst(code) => {
            Ok(crate::jpeg::scan::find_marker(cur, true)?.0)
        }
        Some(stop) => Ok(stop),
        None => Ok(crate::jpeg::scan::find_marker(cur, true)?.0),
    }
}
