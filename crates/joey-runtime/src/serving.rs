//! Bringing a deployment up: wait for its models to be ready, then load and swap in.

use std::time::Duration;

use joey_core::model::ModelStatus;
use joey_core::platform::DeploymentPlan;
use joey_core::Platform;

use crate::deployments::Deployments;

/// How long a deployment waits for its models to finish loading before it reports `Error`.
pub const MODEL_READY_TIMEOUT: Duration = Duration::from_secs(600);

/// Marks the deployment starting and brings it up in the background.
pub fn bring_up(platform: Platform, deployments: Deployments, plan: DeploymentPlan) {
    deployments.begin(&plan);
    tokio::spawn(async move {
        let id = plan.deployment.id;
        if let Err(reason) = bring_up_now(&platform, &deployments, &plan).await {
            deployments.fail(id, reason);
        }
    });
}

async fn bring_up_now(platform: &Platform, deployments: &Deployments, plan: &DeploymentPlan) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + MODEL_READY_TIMEOUT;
    loop {
        let statuses = platform.model_statuses(plan).await.map_err(|e| e.to_string())?;
        if let Some((name, _, why)) = statuses.iter().find(|(_, s, _)| *s == ModelStatus::Error) {
            return Err(format!("model '{name}' failed to load: {}", why.clone().unwrap_or_default()));
        }
        if statuses.iter().all(|(_, s, _)| *s == ModelStatus::Ready) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err("timed out waiting for the models to become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut paths = Vec::new();
    for m in &plan.models {
        paths.push(platform.artifacts.local_path(&m.version.sha).await.map_err(|e| e.to_string())?);
    }
    deployments.start(plan, paths).await
}
