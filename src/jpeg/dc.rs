//! The DCT-coefficient layer for progressive files: decodes only the DC coefficients (being written).
