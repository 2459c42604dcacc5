//! Quality reports as Python dicts, built straight from the library's typed [`Report`] (no JSON
//! value in between): the same keys, in the same (sorted) order, with the values
//! `json.loads(jpgtool quality --json)` would give.
//!
//! A survey makes thousands of dicts with the same keys and mostly the same values (the family,
//! the sampling, `None`s), so a [`DictMaker`] keeps the key strings and the last value object of
//! each field and reuses them while they are equal: creating and freeing those objects cost more
//! than the comparison. Lists (`quality_range`) are made anew for every dict, as they can be
//! changed in place.

use std::sync::Mutex;

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
    /// The value the template holds here; `None` for the fields made anew for every dict
    /// (`path`, the lists), where the template holds Python's `None`.
    held: Option<PyObject>,
}

/// Runs `f` with the maker that all calls share (its key strings and template made once), or,
/// when that one is in use (by a call in another thread while this one's GIL was released, or a
/// finalizer run during a dict's creation), with a new one rather than waiting for it.
pub fn with_maker<T>(f: impl FnOnce(&mut DictMaker) -> T) -> T {
    static SHARED: Mutex<Option<DictMaker>> = Mutex::new(None);
    match SHARED.try_lock() {
        Ok(mut shared) => f(shared.get_or_insert_with(DictMaker::new)),
        Err(_) => f(&mut DictMaker::new()),
    }
}

/// Makes report dicts, reusing key strings and unchanged values between calls.
///
/// Every dict after the first starts as a copy of a private template with the same keys in the
/// same order (one allocation and a copy, where inserting 38 keys one by one grows the table
/// four times); only the values that differ from the template's are then set.
pub struct DictMaker {
    positions: Vec<Position>,
    template: Option<Py<PyDict>>,
}

impl DictMaker {
    pub fn new() -> DictMaker {
        DictMaker {
            positions: Vec::new(),
            template: None,
        }
    }

    /// The dict of `report`; `path` is the object its `path` field holds.
    pub fn report<'py>(
        &mut self,
        py: Python<'py>,
        report: &Report,
        path: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if let Some(template) = &self.template {
            let template = template.bind(py).clone();
            if let Some(dict) = self.copied(py, &template, report, path)? {
                return Ok(dict);
            }
        }
        self.fresh(py, report, path)
    }

    /// A copy of the template with the values of `report` set where they differ, or `None`
    /// when `report` has other keys than the template (other optional fields).
    fn copied<'py>(
        &mut self,
        py: Python<'py>,
        template: &Bound<'py, PyDict>,
        report: &Report,
        path: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let dict = template.copy()?;
        let mut at = 0;
        let mut outcome = Ok(true);
        report.visit(|key, field| {
            if !matches!(outcome, Ok(true)) {
                return;
            }
            let Some(position) = self.positions.get_mut(at).filter(|p| same_key(p.key, key)) else {
                return outcome = Ok(false);
            };
            at += 1;
            outcome = (|| {
                let value = value(py, position, field, path)?;
                let held = position.held.as_ref();
                if held.is_some_and(|held| held.as_ptr() == value.as_ptr()) {
                    return Ok(true);
                }
                let key = position.key_object.bind(py);
                dict.set_item(key, &value)?;
                // The template keeps what can be shared: never the path or a list.
                if !made_anew(field) {
                    template.set_item(key, &value)?;
                    position.held = Some(value.unbind());
                } else if held.is_some() {
                    template.set_item(key, py.None())?;
                    position.held = None;
                }
                Ok(true)
            })();
        });
        match outcome {
            Ok(true) if at == self.positions.len() => Ok(Some(dict)),
            Ok(_) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A dict built key by key, which becomes the template of the next ones.
    fn fresh<'py>(
        &mut self,
        py: Python<'py>,
        report: &Report,
        path: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let template = PyDict::new(py);
        let mut at = 0;
        let mut failure = None;
        report.visit(|key, field| {
            if failure.is_some() {
                return;
            }
            let position = self.position(py, at, key);
            at += 1;
            let made = (|| -> PyResult<()> {
                let value = value(py, position, field, path)?;
                let key = position.key_object.bind(py);
                dict.set_item(key, &value)?;
                if made_anew(field) {
                    template.set_item(key, py.None())?;
                    position.held = None;
                } else {
                    template.set_item(key, &value)?;
                    position.held = Some(value.unbind());
                }
                Ok(())
            })();
            if let Err(err) = made {
                failure = Some(err);
            }
        });
        self.positions.truncate(at);
        match failure {
            Some(err) => {
                self.template = None;
                Err(err)
            }
            None => {
                self.template = Some(template.unbind());
                Ok(dict)
            }
        }
    }

    /// The position `at` for `key`, made anew when another key held it (the first call, or a
    /// report with other optional fields).
    fn position(&mut self, py: Python<'_>, at: usize, key: &'static str) -> &mut Position {
        let fits = self.positions.get(at).is_some_and(|p| same_key(p.key, key));
        if !fits {
            let made = Position {
                key,
                key_object: PyString::intern(py, key).unbind(),
                last: None,
                held: None,
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

/// The fields whose value is made for each dict (the path, the lists), which the template
/// holds as `None`.
fn made_anew(field: Field<'_>) -> bool {
    matches!(field, Field::Path | Field::Range(..))
}

fn same_key(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
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
