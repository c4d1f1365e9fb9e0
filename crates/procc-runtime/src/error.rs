//! The errors of the runtime.

use procc_plan::StepIndex;

/// What went wrong. Every refused operation changes nothing.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// No process instance has this id.
    #[error("there is no process instance {0}")]
    UnknownInstance(u64),
    /// The template has no step with this index.
    #[error("process instance {instance} has no step {step}")]
    UnknownStep {
        /// The instance.
        instance: u64,
        /// The step index.
        step: StepIndex,
    },
    /// The plan has no template of this name.
    #[error("the deployed plan has no template `{0}`")]
    UnknownTemplate(String),
    /// The template is inactive.
    #[error("template `{0}` is inactive: activate it before starting processes")]
    TemplateInactive(String),
    /// The plan's catalog has no such user.
    #[error("there is no user `{0}`")]
    UnknownUser(String),
    /// No task with this id.
    #[error("there is no task {0}")]
    UnknownTask(u64),
    /// No plan is deployed.
    #[error("no plan is deployed")]
    NoPlan,
    /// The plan is of a format this runtime does not read.
    #[error("the plan has format version {found}; this runtime reads version {supported}")]
    PlanFormat {
        /// The plan's version.
        found: u32,
        /// The version this runtime reads.
        supported: u32,
    },
    /// The plan's hash does not match its content.
    #[error("the plan was changed after it was compiled (hash mismatch)")]
    PlanTampered,
    /// The step is not in a state that allows the operation.
    #[error("step {step} of process instance {instance} is {state}, not active")]
    StepNotActive {
        /// The instance.
        instance: u64,
        /// The step.
        step: StepIndex,
        /// Its state, in words.
        state: String,
    },
    /// The step may not be skipped.
    #[error("step `{name}` may not be skipped (only steps marked `allow skip`)")]
    NotSkippable {
        /// The step's name.
        name: String,
    },
    /// The instance is completed or cancelled.
    #[error("process instance {instance} is {status}, not running")]
    NotRunning {
        /// The instance.
        instance: u64,
        /// Its status in words.
        status: String,
    },
    /// A task step's responsibility cannot be changed for the following steps.
    #[error("step `{name}` is a task step: its responsibility can only be changed for this step")]
    TaskStepFollowing {
        /// The step's name.
        name: String,
    },
    /// A task step completes when its task is done.
    #[error("step `{name}` completes when its task {task} is done; complete the task")]
    WaitsForTask {
        /// The step's name.
        name: String,
        /// The task id.
        task: u64,
    },
    /// The operation needs input it did not get, or got input it cannot use.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The process is missing a record it needs.
    #[error("template `{template}` needs a linked {record}")]
    MissingLink {
        /// The template.
        template: String,
        /// The record kind.
        record: String,
    },
    /// A decision link is forged or malformed.
    #[error("the decision link is invalid")]
    BadToken,
    /// A decision link has expired.
    #[error("the decision link has expired")]
    TokenExpired,
    /// Another writer changed the instance first; the engine retries.
    #[error("the process instance was changed concurrently")]
    Conflict,
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// The database cannot be reached (a restart, a network failure): the operation did not
    /// happen, or (when the connection broke during the commit) its outcome is unknown; the
    /// scheduler and the dispatcher try again after a pause.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How long a loop (the scheduler, a dispatcher) waits before trying again after an
    /// operation failed this way, or `None` when trying again would not mend it: other workers
    /// on a shared database kept winning (a moment), or the database cannot be reached (a
    /// second, until it is back).
    pub fn retry_pause(&self) -> Option<std::time::Duration> {
        match self {
            Error::Conflict => Some(std::time::Duration::from_millis(50)),
            Error::Unavailable(_) => Some(std::time::Duration::from_secs(1)),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Store(format!("bad stored JSON: {e}"))
    }
}
