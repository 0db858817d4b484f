use registry_contracts::preferences::v1::{ChannelPreference, PreferenceChanged, QuietHours};
use registry_contracts::runtime::Error;
use registry_contracts::topics::{AUDIT_EVENTS_V1, PREFERENCES_CHANGED_V1};

fn main() {
    let message = PreferenceChanged {
        user_id: "u-1".into(),
        channels: vec![
            ChannelPreference {
                channel: 1,
                opted_in: false,
            },
            ChannelPreference::default(),
        ],
        quiet_hours: Some(QuietHours {
            start_minute: 600,
            end_minute: 600,
            time_zone: String::new(),
        }),
        ..Default::default()
    };
    match PREFERENCES_CHANGED_V1.validate(&message) {
        Err(Error::Validation { violations, .. }) => {
            for v in violations {
                println!("{} {}", v.rule_id, v.field);
            }
        }
        other => println!("unexpected: {other:?}"),
    }
    println!("{}", AUDIT_EVENTS_V1.validation());
}
