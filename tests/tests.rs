//! One integration test binary: ground truth from independent encoders, the shared corpus, and
//! the real CLI.

mod cli;
mod corpus;
mod encoder;
mod floods;
mod ground_truth;
mod hardening;
mod history;
mod progressive;
mod recompress;
mod regressions;
mod safe_io;
mod shrink;
mod thumbnails;
mod util;
mod watermark;
