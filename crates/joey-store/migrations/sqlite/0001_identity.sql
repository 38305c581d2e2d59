-- Users, OIDC clients, keys, grants, workspaces. Times are unix milliseconds; flags are 0/1.
create table app_user (
    user_id text primary key,
    username text not null unique,
    email text not null unique,
    first_name text not null default '',
    last_name text not null default '',
    enabled bigint not null default 1,
    is_admin bigint not null default 0,
    password_hash text,
    last_login bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create table oidc_client (
    client_id text primary key,
    secret_hash text,
    created_at bigint not null,
    updated_at bigint not null
);
create table signing_key (
    kid text primary key,
    private_pem text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create table refresh_grant (
    token_hash text primary key,
    user_id text not null references app_user(user_id) on delete cascade,
    client_id text not null,
    expires_at bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create table device_grant (
    device_code text primary key,
    user_code text not null unique,
    client_id text not null,
    expires_at bigint not null,
    approved_user_id text,
    created_at bigint not null,
    updated_at bigint not null
);
create table workspace (
    workspace_id integer primary key autoincrement,
    name text not null unique,
    created_by text not null,
    archived bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);
create table workspace_member (
    workspace_id bigint not null references workspace(workspace_id) on delete cascade,
    user_id text not null references app_user(user_id) on delete cascade,
    role text not null,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (workspace_id, user_id)
);
create index workspace_member_user on workspace_member(user_id);
