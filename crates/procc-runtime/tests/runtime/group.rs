//! Grouped commits: many operations in one transaction, each isolated by a savepoint.

use chrono::Duration;
use procc_runtime::*;

use crate::common::*;
use crate::fixtures::small;
use crate::on_every_store;

fn start_hours() -> Operation {
    Operation::Start(hours_request())
}

on_every_store!(savepoints_nest_and_roll_back_alone, small(), |h| {
    h.engine
        .store()
        .transaction(&mut |tx| {
            tx.put_key("outer", "kept")?;
            tx.savepoint()?;
            tx.put_key("middle", "kept")?;
            tx.savepoint()?;
            tx.put_key("inner", "undone")?;
            tx.put_key("outer", "overwritten, then undone")?;
            tx.rollback_to_savepoint()?;
            tx.release_savepoint()?;
            Ok(())
        })
        .unwrap();
    let keys = h
        .engine
        .store()
        .transaction(&mut |tx| Ok((tx.key("outer")?, tx.key("middle")?, tx.key("inner")?)))
        .unwrap();
    assert_eq!(
        keys,
        (Some("kept".to_string()), Some("kept".to_string()), None)
    );
});

on_every_store!(a_group_keeps_the_operations_that_succeed, small(), |h| {
    let results = h
        .engine
        .store()
        .group(3, &mut |i, tx| {
            tx.put_key(&format!("op{i}"), "written")?;
            tx.insert_audit(AuditRow {
                id: 1000 + i as u64,
                at: t0(),
                instance: None,
                step: None,
                who: "test".into(),
                event: format!("op{i}").into(),
                detail: String::new(),
            })?;
            if i == 1 {
                return Err(Error::InvalidInput("operation 1 fails".into()));
            }
            Ok(i)
        })
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(matches!(results[0], Ok(0)));
    assert!(matches!(&results[1], Err(Error::InvalidInput(m)) if m == "operation 1 fails"));
    assert!(matches!(results[2], Ok(2)));
    let (keys, events) = h
        .engine
        .store()
        .transaction(&mut |tx| {
            let keys = (tx.key("op0")?, tx.key("op1")?, tx.key("op2")?);
            let events: Vec<String> = tx
                .audit(None)?
                .into_iter()
                .map(|a| a.event.into_owned())
                .collect();
            Ok((keys, events))
        })
        .unwrap();
    assert_eq!(
        keys,
        (
            Some("written".to_string()),
            None,
            Some("written".to_string())
        )
    );
    assert!(events.contains(&"op0".to_string()));
    assert!(!events.contains(&"op1".to_string()));
    assert!(events.contains(&"op2".to_string()));
});

on_every_store!(
    a_batch_returns_each_result_and_isolates_failures,
    small(),
    |h| {
        let results = h
            .engine
            .batch(&[
                start_hours(),
                Operation::CompleteTask {
                    task: 999,
                    by: "j.becker".into(),
                },
                Operation::Start(StartRequest {
                    template: "nope".into(),
                    owner: "j.becker".into(),
                    started_by: "k.schmidt".into(),
                    ..Default::default()
                }),
                start_hours(),
            ])
            .unwrap();
        assert_eq!(results.len(), 4);
        let Ok(Applied::Started(a)) = results[0] else {
            panic!("the first start succeeds: {:?}", results[0]);
        };
        assert!(matches!(results[1], Err(Error::UnknownTask(999))));
        assert!(matches!(&results[2], Err(Error::UnknownTemplate(t)) if t == "nope"));
        let Ok(Applied::Started(b)) = results[3] else {
            panic!("the last start succeeds: {:?}", results[3]);
        };
        // The failed start took no instance number: the numbers follow each other.
        assert_eq!(b, a + 1);
        for id in [a, b] {
            assert!(matches!(h.state(id, "call"), StepState::Scheduled { .. }));
        }
        assert_eq!(h.engine.running().unwrap().len(), 2);

        // A batch that completes both tasks after their timers fired.
        h.advance(Duration::hours(5));
        let tasks: Vec<u64> = [a, b]
            .iter()
            .map(|id| h.view(*id).step("call").unwrap().task.unwrap())
            .collect();
        let results = h
            .engine
            .batch(&[
                Operation::CompleteTask {
                    task: tasks[0],
                    by: "j.becker".into(),
                },
                Operation::CompleteTask {
                    task: tasks[0],
                    by: "j.becker".into(),
                },
                Operation::CompleteTask {
                    task: tasks[1],
                    by: "j.becker".into(),
                },
            ])
            .unwrap();
        assert_eq!(results[0].as_ref().ok(), Some(&Applied::Done));
        assert!(results[1].is_err(), "a task is done only once");
        assert_eq!(results[2].as_ref().ok(), Some(&Applied::Done));
        assert!(h.engine.running().unwrap().is_empty());
    }
);

on_every_store!(
    fire_due_fires_more_than_one_claim_and_records_failures,
    small(),
    |h| {
        // More timers than one transaction claims (256).
        let ops: Vec<Operation> = (0..300).map(|_| start_hours()).collect();
        let ids: Vec<InstanceId> = h
            .engine
            .batch(&ops)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                Ok(Applied::Started(id)) => id,
                other => panic!("a start: {other:?}"),
            })
            .collect();
        // One instance's plan is gone: its timer cannot fire.
        let broken = ids[150];
        h.engine
            .store()
            .transaction(&mut |tx| {
                let mut row = tx.instance(broken)?.unwrap();
                row.plan_hash = "gone".into();
                tx.update_instance(row)
            })
            .unwrap();
        h.clock.advance(Duration::hours(5));
        assert_eq!(h.engine.fire_due().unwrap(), 300);
        for id in &ids {
            let v = h.view(*id);
            if *id == broken {
                assert!(matches!(
                    v.step("call").unwrap().state,
                    StepState::Scheduled { .. }
                ));
                assert!(v.timers.is_empty(), "the failed timer is dropped");
                assert!(v.history.iter().any(|a| a.event == "timer_failed"));
            } else {
                assert_eq!(v.step("call").unwrap().state, StepState::Active, "{id}");
                assert!(v.history.iter().all(|a| a.event != "timer_failed"));
            }
        }
        assert_eq!(h.engine.next_timer_due().unwrap(), None);
    }
);
