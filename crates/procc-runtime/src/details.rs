//! The details the engine writes for every process (an e-mail step's effect, a task, a notice
//! to the controller), described by what they quote instead of copied: made into a payload
//! with [`Payload::of`], they are serialised only when a row holding them is written out (a
//! SQL store's write) or someone reads a field.
//!
//! The texts (template names, subjects, descriptions) are the plan's, so the details keep the
//! plan (shared) and the step's place in it. The fields come out in the order the engine has
//! always written them, which the `procc` binary's JSON objects keep.
//!
//! [`Payload::of`]: crate::Payload::of

use std::sync::Arc;

use procc_plan::{Action, Plan, StepIndex, Template};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

use crate::model::{InstanceId, Shared};
use crate::{Error, Result};

/// A step of a deployed plan.
pub(crate) struct PlanStep {
    plan: Arc<Plan>,
    template: usize,
    step: usize,
}

impl PlanStep {
    /// Step `step` of `template`, one of `plan`'s templates.
    pub(crate) fn new(plan: &Arc<Plan>, template: &Template, step: StepIndex) -> Result<PlanStep> {
        let template = plan
            .template_index(&template.name)
            .ok_or_else(|| Error::UnknownTemplate(template.name.clone()))?;
        Ok(PlanStep {
            plan: Arc::clone(plan),
            template,
            step: step as usize,
        })
    }

    fn action(&self) -> Option<&Action> {
        let template = self.plan.templates.get(self.template)?;
        Some(&template.steps.get(self.step)?.action)
    }
}

/// The details of an e-mail step's effect: what the step says, from whom, to which address.
pub(crate) struct EmailOfStep {
    /// The e-mail step.
    pub(crate) step: PlanStep,
    /// The responsible person, who sends it.
    pub(crate) from_user: String,
    /// The linked address it goes to (its id shared with the instance's links).
    pub(crate) address: Shared,
    /// The process instance.
    pub(crate) instance: InstanceId,
}

/// The fields of an e-mail step's details.
#[derive(Serialize)]
struct EmailFields<'a> {
    template: &'a str,
    signature: bool,
    from_user: &'a str,
    instance: InstanceId,
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    /// Absent unless set (absent reads as unset, and most e-mail steps name no mailbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    mailbox: Option<&'a str>,
}

impl Serialize for EmailOfStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(Action::Email {
            template,
            signature,
            mailbox,
            ..
        }) = self.step.action()
        else {
            return Err(S::Error::custom("the step of an e-mail is no e-mail step"));
        };
        let subject = self
            .step
            .plan
            .catalog
            .email_templates
            .iter()
            .find(|t| &t.id == template)
            .map(|t| t.subject.as_str());
        EmailFields {
            template,
            signature: *signature,
            from_user: &self.from_user,
            instance: self.instance,
            address: &self.address,
            subject,
            mailbox: mailbox.as_deref(),
        }
        .serialize(serializer)
    }
}

/// The details of a task: the texts of its task step.
pub(crate) struct TaskOfStep(pub(crate) PlanStep);

/// The fields of a task's details.
#[derive(Serialize)]
struct TaskFields<'a> {
    subject: &'a str,
    description: Option<&'a str>,
    attachments: &'a [String],
}

impl Serialize for TaskOfStep {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(Action::Task {
            subject,
            description,
            attachments,
            ..
        }) = self.0.action()
        else {
            return Err(S::Error::custom("the step of a task is no task step"));
        };
        TaskFields {
            subject,
            description: description.as_deref(),
            attachments,
        }
        .serialize(serializer)
    }
}

/// The details of an e-mail that tells the process controller something.
#[derive(Serialize)]
pub(crate) struct NoticeDetails {
    /// What happened.
    pub(crate) subject: String,
    /// The process instance.
    pub(crate) instance: InstanceId,
    /// Its template.
    pub(crate) template: String,
    /// Always `controller`.
    pub(crate) notice: &'static str,
}
