//! The work budget of interpreting a page, and stopping the interpreter.
//!
//! The interpreter cannot be paused or given a budget, and a few kilobytes
//! of Form XObjects that draw each other (22 levels, each drawing the next 8
//! times) expand to 8²² operators. Two guards bound the work:
//!
//! 1. Before a page is interpreted, [`expanded_operations`] walks its content
//!    and every Form XObject it draws (and annotation appearance streams),
//!    counting the operators the interpreter would run with every form
//!    expanded in place. Each form is counted once per nesting depth
//!    (memoised), so this walk is cheap even when the expansion is not.
//! 2. While a page is interpreted, the recording device calls
//!    [`Meter::tick`] on every drawing call (including the procedures of
//!    Type 3 glyphs and tiling patterns it interprets on purpose, which the
//!    walk does not see). Past the budget, or once the caller's cancellation
//!    flag is set, it unwinds out of the interpreter with a [`Stop`] payload
//!    (through `resume_unwind`, so no panic message is printed), which
//!    the reader catches and turns into an error.

use std::collections::HashMap;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicBool, Ordering};

use hayro::hayro_interpret::hayro_syntax::content::ops::TypedInstruction;
use hayro::hayro_interpret::hayro_syntax::content::TypedIter;
use hayro::hayro_interpret::hayro_syntax::object::dict::keys;
use hayro::hayro_interpret::hayro_syntax::object::{Array, Dict, Name, Object, ObjectIdentifier, Stream};
use hayro::hayro_interpret::hayro_syntax::page::{Page, Resources};

use crate::PdfError;

/// Nesting depth past which the interpreter draws no more forms.
const MAX_DEPTH: u32 = 50;

/// Why interpretation was stopped from inside the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// More drawing calls than the budget allows.
    Budget,
    /// The caller's cancellation flag was set.
    Cancelled,
    /// An inline image's filters decode to more than allowed.
    Decompression(u64),
}

impl Stop {
    /// The error this stop is reported as.
    pub(crate) fn error(self, page: usize, limit: u64) -> PdfError {
        match self {
            Self::Budget => PdfError::TooMuchWork { page, limit },
            Self::Cancelled => PdfError::Cancelled,
            Self::Decompression(limit) => PdfError::DecompressionLimit { limit },
        }
    }
}

/// Counts drawing calls against a budget and watches the cancellation flag.
pub(crate) struct Meter<'c> {
    used: u64,
    limit: u64,
    cancel: &'c AtomicBool,
}

impl<'c> Meter<'c> {
    /// A meter allowing `limit` units of work.
    pub(crate) fn new(limit: u64, cancel: &'c AtomicBool) -> Self {
        Self { used: 0, limit, cancel }
    }

    /// Units charged so far.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Charges `units`; unwinds with a [`Stop`] past the budget or once cancelled.
    pub(crate) fn tick(&mut self, units: u64) {
        self.used = self.used.saturating_add(units);
        if self.used > self.limit {
            resume_unwind(Box::new(Stop::Budget));
        }
        if self.cancel.load(Ordering::Relaxed) {
            resume_unwind(Box::new(Stop::Cancelled));
        }
    }
}

/// Stops interpretation with `stop` (caught by the reader).
pub(crate) fn stop(stop: Stop) -> ! {
    resume_unwind(Box::new(stop))
}

/// Operators the page's content runs with every Form XObject expanded,
/// counting at most a little past `limit` (the walk stops there).
///
/// # Errors
/// [`PdfError::Cancelled`] once `cancel` is set.
pub(crate) fn expanded_operations(page: &Page<'_>, limit: u64, cancel: &AtomicBool) -> Result<u64, PdfError> {
    let mut walk = Walk { memo: HashMap::new(), limit, cancel, seen: 0 };
    let resources = page.resources();
    let mut total = match page.page_stream() {
        Some(content) => walk.ops(content, resources, PAGE, 0)?,
        None => 0,
    };
    if let Some(annots) = page.raw().get::<Array<'_>>(keys::ANNOTS) {
        for annot in annots.iter::<Dict<'_>>() {
            if total > limit {
                break;
            }
            if let Some(stream) = appearance(&annot) {
                total = total.saturating_add(walk.form(&stream, resources, PAGE, 1)?);
            }
        }
    }
    Ok(total)
}

/// Owner of the page's own resources in the memo.
const PAGE: Option<ObjectIdentifier> = None;

struct Walk<'c> {
    /// Expanded cost of (form, owner of the resources it sees, depth).
    memo: HashMap<(ObjectIdentifier, Option<ObjectIdentifier>, u32), u64>,
    limit: u64,
    cancel: &'c AtomicBool,
    /// Operators parsed so far (for the cancellation check).
    seen: u64,
}

impl Walk<'_> {
    /// Expanded operators of one content stream read with `resources`
    /// (owned by object `owner`), drawn at nesting `depth`.
    fn ops(
        &mut self,
        content: &[u8],
        resources: &Resources<'_>,
        owner: Option<ObjectIdentifier>,
        depth: u32,
    ) -> Result<u64, PdfError> {
        let mut total = 0u64;
        let mut ops = TypedIter::new(content);
        while let Some(op) = ops.next() {
            total = total.saturating_add(1);
            self.seen += 1;
            if self.seen.is_multiple_of(65_536) && self.cancel.load(Ordering::Relaxed) {
                return Err(PdfError::Cancelled);
            }
            if let TypedInstruction::XObject(x) = op {
                if let Some(stream) = resources.get_x_object(x.0) {
                    total = total.saturating_add(self.form(&stream, resources, owner, depth + 1)?);
                }
            }
            if total > self.limit {
                break;
            }
        }
        Ok(total)
    }

    /// Expanded operators of drawing `stream` when it is a Form XObject.
    fn form(
        &mut self,
        stream: &Stream<'_>,
        parent: &Resources<'_>,
        parent_owner: Option<ObjectIdentifier>,
        depth: u32,
    ) -> Result<u64, PdfError> {
        let dict = stream.dict();
        let is_form = dict.get::<Name<'_>>(keys::SUBTYPE).is_some_and(|n| n.as_ref() == b"Form");
        if depth > MAX_DEPTH || !is_form {
            return Ok(0);
        }
        let id = stream.obj_id();
        let own = dict.get::<Dict<'_>>(keys::RESOURCES).map(Resources::new);
        let owner = if own.is_some() { Some(id) } else { parent_owner };
        let key = (id, owner, depth);
        if let Some(&cost) = self.memo.get(&key) {
            return Ok(cost);
        }
        // Counted as unbounded while being computed: a form that draws itself
        // at the same depth cannot happen, so this only guards the memo.
        self.memo.insert(key, u64::MAX);
        let cost = match stream.decoded_data() {
            Ok(content) => self.ops(&content, own.as_ref().unwrap_or(parent), owner, depth)?,
            Err(_) => 0,
        };
        self.memo.insert(key, cost);
        Ok(cost)
    }
}

/// The normal appearance stream of an annotation, as the interpreter picks it.
fn appearance<'a>(annot: &Dict<'a>) -> Option<Stream<'a>> {
    match annot.get::<Dict<'_>>(keys::AP)?.get::<Object<'_>>(keys::N)? {
        Object::Stream(stream) => Some(stream),
        Object::Dict(states) => annot
            .get::<Name<'_>>(keys::AS)
            .and_then(|state| states.get::<Stream<'_>>(state.as_ref()))
            .or_else(|| states.get::<Stream<'_>>(b"Off".as_slice())),
        _ => None,
    }
}
