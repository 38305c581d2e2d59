-- Pipelines, immutable versions, the models each version uses, and deployments.
create table pipeline (
    pipeline_id bigserial primary key,
    workspace_id bigint not null references workspace(workspace_id) on delete cascade,
    name text not null,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null,
    unique (workspace_id, name)
);
create table pipeline_version (
    pipeline_version_id bigserial primary key,
    pipeline_id bigint not null references pipeline(pipeline_id) on delete cascade,
    version text not null unique,
    definition text not null,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index pipeline_version_pipeline on pipeline_version(pipeline_id);
create table pipeline_version_model (
    pipeline_version_id bigint not null references pipeline_version(pipeline_version_id) on delete cascade,
    model_version_id bigint not null references model_version(model_version_id) on delete cascade,
    primary key (pipeline_version_id, model_version_id)
);
create table deployment (
    deployment_id bigserial primary key,
    pipeline_id bigint not null unique references pipeline(pipeline_id) on delete cascade,
    deploy_id text not null,
    pipeline_version_id bigint not null references pipeline_version(pipeline_version_id),
    engine_config text not null,
    active bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
