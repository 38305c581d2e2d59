-- Models, versions, configs and upload logs. JSON documents are text.
create table model (
    model_id integer primary key autoincrement,
    workspace_id bigint not null references workspace(workspace_id) on delete cascade,
    name text not null,
    owner_id text not null,
    created_at bigint not null,
    updated_at bigint not null,
    unique (workspace_id, name)
);
create table model_version (
    model_version_id integer primary key autoincrement,
    model_id bigint not null references model(model_id) on delete cascade,
    version text not null unique,
    sha text not null,
    file_name text not null,
    size bigint not null,
    status text not null,
    visibility text not null,
    conversion text not null,
    error_summary text,
    signature text,
    created_by text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index model_version_sha on model_version(sha);
create index model_version_model on model_version(model_id);
create table model_config (
    model_config_id integer primary key autoincrement,
    model_version_id bigint not null references model_version(model_version_id) on delete cascade,
    runtime text not null,
    tensor_fields text,
    filter_threshold double precision,
    input_schema text,
    output_schema text,
    batch_config text,
    dynamic_batching text,
    continuous_batching text,
    openai text,
    created_at bigint not null,
    updated_at bigint not null
);
create index model_config_version on model_config(model_version_id);
create table model_upload_log (
    model_upload_log_id integer primary key autoincrement,
    model_version_id bigint not null references model_version(model_version_id) on delete cascade,
    line text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index model_upload_log_version on model_upload_log(model_version_id);
