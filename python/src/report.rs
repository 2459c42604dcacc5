//! Quality reports as Python dicts, built straight from the library's typed [`Report`] (no JSON
//! value in between): the same keys, in the same (sorted) order, with the values
//! `json.loads(jpgtool quality --json)` would give.
//!
//! A survey makes thousands of dicts with the same keys and mostly the same values (the family,
//! the sampling, `None`s), so a [`DictMaker`] keeps the key strings and the last value object of
//! each field and reuses them while they are equal: creating and freeing those objects cost more
//! than the comparison. Lists (`quality_range`) are made anew for every dict, as they can be
//! changed in place.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use jpgtool::quality::{Field, Report};

/// The last value made for a field, and what it was made from.
enum Made {
    Int(i64),
    Float(u64),
    Str(String),
}

/// One position in the (fixed) order of the fields.
struct Position {
    key: &'static str,
    key_object: Py<PyString>,
    last: Option<(Made, PyObject)>,
}

/// Makes report dicts, reusing key strings and unchanged values between calls.
pub struct DictMaker {
    positions: Vec<Position>,
}

impl DictMaker {
    pub fn new() -> DictMaker {
        DictMaker {
            positions: Vec::new(),
        }
    }

    /// The dict of `report`; `path` is the object its `path` field holds.
    pub fn report<'py>(
        &mut self,
        py: Python<'py>,
        report: &Report,
        path: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let mut at = 0;
        let mut failure = None;
        report.visit(|key, field| {
            if failure.is_some() {
                return;
            }
            let position = self.position(py, at, key);
            at += 1;
            let value = match value(py, position, field, path) {
                Ok(value) => value,
                Err(err) => return failure = Some(err),
            };
            if let Err(err) = dict.set_item(position.key_object.bind(py), value) {
                failure = Some(err);
            }
        });
        match failure {
            Some(err) => Err(err),
            None => Ok(dict),
        }
    }

    /// The position `at` for `key`, made anew when another key held it (the first call, or a
    /// report with other optional fields).
    fn position(&mut self, py: Python<'_>, at: usize, key: &'static str) -> &mut Position {
        let fits = self
            .positions
            .get(at)
            .is_some_and(|p| std::ptr::eq(p.key, key) || p.key == key);
        if !fits {
            let made = Position {
                key,
                key_object: PyString::intern(py, key).unbind(),
                last: None,
            };
            if at < self.positions.len() {
                self.positions[at] = made;
            } else {
                self.positions.push(made);
            }
        }
        &mut self.positions[at]
    }
}

/// The Python value of `field`, reusing the position's last one when it is equal.
fn value<'py>(
    py: Python<'py>,
    position: &mut Position,
    field: Field<'_>,
    path: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyAny>> {
    let made = match field {
        Field::Null => return Ok(py.None().into_bound(py)),
        Field::Bool(b) => return Ok(PyBool::new(py, b).to_owned().into_any()),
        Field::Path => return Ok(path.clone().into_any()),
        // JSON has no NaN or infinity: `null` there.
        Field::Float(x) if !x.is_finite() => return Ok(py.None().into_bound(py)),
        Field::Range(lo, hi) => return Ok(PyList::new(py, [float(lo), float(hi)])?.into_any()),
        Field::Int(i) => Made::Int(i),
        Field::Float(x) => Made::Float(x.to_bits()),
        Field::Str(s) => {
            if let Some((Made::Str(last), object)) = &position.last
                && last == s
            {
                return Ok(object.bind(py).clone());
            }
            Made::Str(s.to_string())
        }
    };
    if let Some((last, object)) = &position.last {
        let same = match (last, &made) {
            (Made::Int(a), Made::Int(b)) => a == b,
            (Made::Float(a), Made::Float(b)) => a == b,
            _ => false,
        };
        if same {
            return Ok(object.bind(py).clone());
        }
    }
    let object = match &made {
        Made::Int(i) => PyInt::new(py, *i).into_any(),
        Made::Float(bits) => PyFloat::new(py, f64::from_bits(*bits)).into_any(),
        Made::Str(s) => PyString::new(py, s).into_any(),
    };
    position.last = Some((made, object.clone().unbind()));
    Ok(object)
}

/// A finite float as JSON keeps it, else `None`.
fn float(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The entry of a file that could not be read: `{"error", "ok": False, "path"}`, as
/// `jpgtool quality --json` prints it.
pub fn failure<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyString>,
    error: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item(pyo3::intern!(py, "error"), error)?;
    dict.set_item(pyo3::intern!(py, "ok"), false)?;
    dict.set_item(pyo3::intern!(py, "path"), path)?;
    Ok(dict)
}
