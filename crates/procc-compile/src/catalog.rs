//! The project file's entries, as the plan carries them.

use procc_catalog as cat;
use procc_plan as plan;

pub(crate) fn tenant(catalog: &cat::Catalog) -> Option<plan::Tenant> {
    catalog.tenant().map(|t| plan::Tenant {
        id: t.id.clone(),
        name: t.name.clone(),
        mobile: t.mobile.clone(),
    })
}

pub(crate) fn module(module: cat::Module) -> plan::Module {
    match module {
        cat::Module::Address => plan::Module::Address,
        cat::Module::Property => plan::Module::Property,
        cat::Module::Project => plan::Module::Project,
    }
}

fn right(right: cat::Right) -> plan::Right {
    match right {
        cat::Right::Start => plan::Right::Start,
        cat::Right::Cancel => plan::Right::Cancel,
        cat::Right::Skip => plan::Right::Skip,
        cat::Right::Design => plan::Right::Design,
        cat::Right::AdjustFollowing => plan::Right::AdjustFollowing,
        cat::Right::SeeOthers => plan::Right::SeeOthers,
    }
}

fn field_type(ty: cat::FieldType) -> plan::FieldType {
    match ty {
        cat::FieldType::Text => plan::FieldType::Text,
        cat::FieldType::Number => plan::FieldType::Number,
        cat::FieldType::Money => plan::FieldType::Money,
        cat::FieldType::Area => plan::FieldType::Area,
        cat::FieldType::Date => plan::FieldType::Date,
        cat::FieldType::Bool => plan::FieldType::Bool,
        cat::FieldType::Enum => plan::FieldType::Enum,
    }
}

pub(crate) fn lower(catalog: &cat::Catalog) -> plan::Catalog {
    plan::Catalog {
        users: catalog
            .users()
            .iter()
            .map(|u| plan::User {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                mobile: u.mobile.clone(),
                groups: u.groups.clone(),
                rights: u.rights.iter().copied().map(right).collect(),
                address: u.address.clone(),
            })
            .collect(),
        groups: catalog
            .groups()
            .iter()
            .map(|g| plan::Group {
                id: g.id.clone(),
                name: g.name.clone(),
                mobile: g.mobile.clone(),
            })
            .collect(),
        modules: cat::Module::ALL
            .iter()
            .map(|&m| {
                let def = catalog.module(m);
                plan::ModuleSchema {
                    module: module(m),
                    statuses: def.statuses.clone(),
                    fields: def
                        .fields
                        .values()
                        .map(|f| plan::Field {
                            name: f.name.clone(),
                            ty: field_type(f.ty),
                            values: f.values.clone(),
                            read_only: f.read_only,
                        })
                        .collect(),
                }
            })
            .collect(),
        services: catalog
            .services()
            .iter()
            .map(|s| plan::Service {
                id: s.id.clone(),
                name: s.name.clone(),
                webhook: s.callable_webhook().map(|w| plan::ServiceWebhook {
                    url: w.url.clone(),
                    method: match w.method {
                        cat::HttpMethod::Get => plan::HttpMethod::Get,
                        cat::HttpMethod::Post => plan::HttpMethod::Post,
                    },
                    parameters: w
                        .parameters
                        .iter()
                        .map(|p| plan::Parameter {
                            name: p.name.clone(),
                            values: match &p.values {
                                cat::ParameterValues::Any => Vec::new(),
                                cat::ParameterValues::OneOf(values) => values.clone(),
                            },
                        })
                        .collect(),
                    secret_env: match &w.secret {
                        Some(cat::SecretSource::Env(name)) => Some(name.clone()),
                        _ => None,
                    },
                    secret_file: match &w.secret {
                        Some(cat::SecretSource::File(path)) => Some(path.clone()),
                        _ => None,
                    },
                    max_attempts: w.max_attempts,
                    timeout_seconds: w.timeout_seconds,
                }),
            })
            .collect(),
        email_templates: catalog
            .email_templates()
            .iter()
            .map(|t| plan::EmailTemplate {
                id: t.id.clone(),
                subject: t.subject.clone(),
                body: t.body.clone(),
            })
            .collect(),
        letter_templates: catalog
            .letter_templates()
            .iter()
            .map(|t| plan::LetterTemplate {
                id: t.id.clone(),
                format: match t.kind {
                    cat::LetterKind::Word => plan::LetterFormat::Word,
                    cat::LetterKind::Pdf => plan::LetterFormat::Pdf,
                },
                description: t.description.clone(),
            })
            .collect(),
        sms_templates: catalog
            .sms_templates()
            .iter()
            .map(|t| plan::SmsTemplate {
                id: t.id.clone(),
                text: t.text.clone(),
            })
            .collect(),
        portals: catalog
            .portals()
            .iter()
            .map(|p| plan::Portal {
                id: p.id.clone(),
                name: p.name.clone(),
                full_sync_only: p.full_sync_only,
            })
            .collect(),
        filters: catalog
            .filters()
            .iter()
            .map(|f| plan::Filter {
                id: f.id.clone(),
                module: module(f.module),
            })
            .collect(),
        calendars: catalog
            .calendars()
            .iter()
            .map(|c| plan::Calendar {
                id: c.id.clone(),
                time_zone: c.time_zone.name().to_string(),
                weekend: c.weekend.iter().map(|d| weekday(*d).to_string()).collect(),
                holidays: c.holidays.clone(),
            })
            .collect(),
        project_templates: catalog
            .project_templates()
            .iter()
            .map(|p| p.id.clone())
            .collect(),
        activity_kinds: catalog
            .activity_kinds()
            .iter()
            .map(|k| plan::ActivityKind {
                id: k.id.clone(),
                types: k.types.clone(),
            })
            .collect(),
        activity_features: catalog
            .activity_features()
            .iter()
            .map(|f| f.id.clone())
            .collect(),
        mailboxes: catalog
            .mailboxes()
            .iter()
            .map(|m| m.address.clone())
            .collect(),
    }
}

fn weekday(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => "monday",
        chrono::Weekday::Tue => "tuesday",
        chrono::Weekday::Wed => "wednesday",
        chrono::Weekday::Thu => "thursday",
        chrono::Weekday::Fri => "friday",
        chrono::Weekday::Sat => "saturday",
        chrono::Weekday::Sun => "sunday",
    }
}
