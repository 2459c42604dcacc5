//! The segments between two scans of a multi-scan frame (T.81 B.2.1): tables may be redefined
//! before the next SOS. One walk for the decoders that read scans themselves (the DC-only
//! decoder of `dc`, the band decoder of `progressive`), so both accept and refuse the same
//! things in the same way.

use super::scan::{Stop, find_marker};
use super::segments::{self, Frame, HuffmanTable, QuantTable, ScanHeader};
use super::{Input, Parser, markers};
use crate::error::{Error, Problem, Result};

/// Where a decoder keeps what the segments between scans may redefine.
pub(crate) trait ScanTables {
    /// A DHT table, replacing the one in its slot.
    fn define_huffman(&mut self, table: HuffmanTable);
    /// A DQT table for slot `slot` (0..=3), replacing the one there.
    fn define_quant(&mut self, slot: u8, table: QuantTable);
    /// A DRI's restart interval (0: none).
    fn set_restart_interval(&mut self, interval: u16);
    /// `bytes` stood where a marker should, before `next` (a warning, as libjpeg gives).
    fn extraneous(&mut self, bytes: u64, next: Stop);
}

/// What ends the walk between two scans.
pub(crate) enum Next {
    /// The next scan's header, and the offset where its entropy-coded data starts.
    Scan(ScanHeader, u64),
    /// EOI.
    End,
    /// The input ended, before a marker or inside a segment (libjpeg's fake EOI).
    Truncated,
}

impl<I: Input> Parser<I> {
    /// Walks the segments from `stop` (what ended the last scan) to the next SOS or EOI:
    /// DHT, DQT and DRI go to `tables`; APPn, COM, DNL, DAC and unknown segments are skipped by
    /// length; RSTn and TEM carry nothing; SOI and SOF are errors.
    pub(crate) fn walk_between_scans(
        &mut self,
        mut stop: Stop,
        frame: &Frame,
        buf: &mut Vec<u8>,
        tables: &mut impl ScanTables,
    ) -> Result<Next> {
        loop {
            let code = match stop {
                Stop::Eof => return Ok(Next::Truncated),
                Stop::Marker(code) => code,
            };
            let marker_at = self.cur.offset.saturating_sub(2);
            let seg = markers::name(code);
            match code {
                markers::EOI => return Ok(Next::End),
                markers::SOS => {
                    let Some(at) = truncation(self.read_payload(code, buf))? else {
                        return Ok(Next::Truncated);
                    };
                    return Ok(Next::Scan(segments::parse_sos(buf, at, frame)?, at));
                }
                markers::DHT => {
                    let Some(at) = truncation(self.read_payload(code, buf))? else {
                        return Ok(Next::Truncated);
                    };
                    for table in segments::parse_dht(buf, at)? {
                        tables.define_huffman(table);
                    }
                }
                markers::DQT => {
                    let Some(at) = truncation(self.read_payload(code, buf))? else {
                        return Ok(Next::Truncated);
                    };
                    for (slot, table) in segments::parse_dqt(buf, at)? {
                        tables.define_quant(slot, table);
                    }
                }
                markers::DRI => {
                    let Some(at) = truncation(self.read_payload(code, buf))? else {
                        return Ok(Next::Truncated);
                    };
                    tables.set_restart_interval(segments::parse_dri(buf, at)?);
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
                    if truncation(self.skip_segment(m, 0))?.is_none() {
                        return Ok(Next::Truncated);
                    }
                }
            }
            let (next, garbage) = find_marker(&mut self.cur, false)?;
            tables.extraneous(garbage, next);
            stop = next;
        }
    }
}

/// A segment that the input cut short is `None` (the caller reports a truncation, as libjpeg's
/// fake EOI does); other errors stay errors.
fn truncation<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Truncated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
