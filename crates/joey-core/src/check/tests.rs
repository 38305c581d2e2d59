//! Fixtures are `expr.alias(name).meta.write_json()` output of polars 0.18.15 (the version the
//! Wallaroo SDK pins), generated for these tests.

use std::collections::HashMap;

use serde_json::json;

use super::*;

const OPTS_GET: &str = r#"{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}"#;

const TOO_HIGH: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Function":{"input":[{"Column":"out.variable"},{"Literal":{"Int32":0}}],"function":{"ListExpr":"Get"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"op":"Gt","right":{"Literal":{"Float64":1000000.0}}}},"too_high"]}"#;
const TOO_LOW: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Function":{"input":[{"Column":"out.variable"},{"Literal":{"Int32":0}}],"function":{"ListExpr":"Get"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"op":"Lt","right":{"Literal":{"Int32":1000}}}},"too_low"]}"#;
const NEG_INDEX: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Function":{"input":[{"Column":"out.variable"},{"Literal":{"Int32":-1}}],"function":{"ListExpr":"Get"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"op":"GtEq","right":{"Literal":{"Int32":5}}}},"neg"]}"#;
const EQ: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Eq","right":{"Literal":{"Int32":1}}}},"eq"]}"#;
const NE: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"NotEq","right":{"Literal":{"Int32":1}}}},"ne"]}"#;
const LT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Lt","right":{"Literal":{"Int32":1}}}},"lt"]}"#;
const LE: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"LtEq","right":{"Literal":{"Int32":1}}}},"le"]}"#;
const GT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}},"gt"]}"#;
const GE: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"GtEq","right":{"Literal":{"Int32":1}}}},"ge"]}"#;
const ADD: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Plus","right":{"Column":"b"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"add"]}"#;
const SUB: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Minus","right":{"Literal":{"Int32":2}}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"sub"]}"#;
const MUL: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Multiply","right":{"Literal":{"Float64":2.5}}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"mul"]}"#;
const DIV: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"TrueDivide","right":{"Literal":{"Int32":2}}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"div"]}"#;
const FLOORDIV: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"FloorDivide","right":{"Literal":{"Int32":2}}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"floordiv"]}"#;
const MOD: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Modulus","right":{"Literal":{"Int32":2}}}},"op":"Eq","right":{"Literal":{"Int32":1}}}},"mod"]}"#;
const AND: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}},"op":"And","right":{"BinaryExpr":{"left":{"Column":"b"},"op":"Lt","right":{"Literal":{"Int32":2}}}}}},"and"]}"#;
const OR: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}},"op":"Or","right":{"BinaryExpr":{"left":{"Column":"b"},"op":"Lt","right":{"Literal":{"Int32":2}}}}}},"or"]}"#;
const XOR: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}},"op":"Xor","right":{"BinaryExpr":{"left":{"Column":"b"},"op":"Lt","right":{"Literal":{"Int32":2}}}}}},"xor"]}"#;
const NOT: &str = r#"{"Alias":[{"Function":{"input":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}}],"function":{"Boolean":"IsNot"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":false,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"not"]}"#;
const NOT_COL: &str = r#"{"Alias":[{"Function":{"input":[{"Column":"flag"}],"function":{"Boolean":"IsNot"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":false,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"notcol"]}"#;
const BOOL_LIT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"flag"},"op":"Eq","right":{"Literal":{"Boolean":true}}}},"bool_lit"]}"#;
const STR_LIT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"s"},"op":"Eq","right":{"Literal":{"Utf8":"abc"}}}},"str_lit"]}"#;
const NULL_LIT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Eq","right":{"Literal":"Null"}}},"null_lit"]}"#;
const LIT_I64_CAST: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Cast":{"expr":{"Literal":{"Int32":5}},"data_type":"Int64","strict":true}}}},"lit_i64"]}"#;
const LIT_U32_CAST: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Cast":{"expr":{"Literal":{"Int32":5}},"data_type":"UInt32","strict":true}}}},"lit_u32"]}"#;
const LIT_F32_CAST: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Cast":{"expr":{"Literal":{"Float64":5.5}},"data_type":"Float32","strict":true}}}},"lit_f32"]}"#;
const LIT_NULL_CAST: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Eq","right":{"Cast":{"expr":{"Literal":"Null"},"data_type":"Int64","strict":true}}}},"typed_null"]}"#;
const LIT_BIG: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int64":10000000000}}}},"lit_big"]}"#;
const LIT_U64: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"UInt64":9223372036854775808}}}},"lit_u64"]}"#;
const PREC: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"Plus","right":{"BinaryExpr":{"left":{"Column":"b"},"op":"Multiply","right":{"Literal":{"Int32":2}}}}}},"op":"Gt","right":{"Literal":{"Int32":10}}}},"prec"]}"#;
const NEG_UNARY: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Literal":{"Int32":0}},"op":"Minus","right":{"Column":"a"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"neg_unary"]}"#;
const REV_SUB: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Literal":{"Int32":5}},"op":"Minus","right":{"Column":"a"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"rev_sub"]}"#;
const LIT_ONLY: &str = r#"{"Alias":[{"Literal":{"Boolean":true}},"lit_only"]}"#;
const COL_ONLY: &str = r#"{"Alias":[{"Column":"flag"},"col_only"]}"#;
const LISTGET_COL: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Function":{"input":[{"Column":"out.variable"},{"Column":"i"}],"function":{"ListExpr":"Get"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"listget_col"]}"#;
const NEG_FLOAT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Float64":-1.5}}}},"lit_neg_float"]}"#;
const NESTED_ALIAS: &str = r#"{"Alias":[{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}},"inner"]},"nested_alias"]}"#;
const IS_BETWEEN: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"BinaryExpr":{"left":{"Column":"a"},"op":"GtEq","right":{"Literal":{"Int32":1}}}},"op":"And","right":{"BinaryExpr":{"left":{"Column":"a"},"op":"LtEq","right":{"Literal":{"Int32":2}}}}}},"is_between"]}"#;
// Unsupported constructs, as polars 0.18.15 writes them.
const WINDOW: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Window":{"function":{"Agg":{"Sum":{"Column":"a"}}},"partition_by":[{"Column":"b"}],"order_by":null,"options":{"mapping":"GroupsToRows"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"window"]}"#;
const AGG: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Agg":{"Mean":{"Column":"a"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"agg"]}"#;
const IS_NULL: &str = r#"{"Alias":[{"Function":{"input":[{"Column":"a"}],"function":{"Boolean":"IsNull"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":false,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"isnull"]}"#;
const CAST_COL: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Cast":{"expr":{"Column":"a"},"data_type":"Float64","strict":true}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"cast"]}"#;
const NAN_LIT: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Float64":null}}}},"lit_nan"]}"#;
const EQ_MISSING: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"EqValidity","right":{"Literal":{"Int32":1}}}},"eq_missing"]}"#;
const SERIES_LIT: &str = r#"{"Alias":[{"Literal":{"Series":{"name":"","datatype":"Int64","bit_settings":"","values":[1,2]}}},"series"]}"#;
const NO_ALIAS: &str =
    r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt","right":{"Literal":{"Int32":1}}}}"#;

fn parse(json: &str) -> Validation {
    parse_validation(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn err(json: &str) -> String {
    match parse_validation(json) {
        Ok(v) => panic!("expected an error, parsed {v:?}"),
        Err(Error::InvalidInput(msg)) => msg,
        Err(other) => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn col(c: &str) -> Box<Expr> {
    Box::new(Expr::Column(c.into()))
}
fn lit(v: impl Into<Value>) -> Box<Expr> {
    Box::new(Expr::Literal(v.into()))
}
fn bin(left: Box<Expr>, op: BinOp, right: Box<Expr>) -> Expr {
    Expr::Binary { left, op, right }
}

type Row = HashMap<&'static str, Value>;

fn row(cells: &[(&'static str, Value)]) -> Row {
    cells.iter().cloned().collect()
}

fn eval_on(expr: &Expr, r: &Row) -> Value {
    expr.eval(&|c: &str| r.get(c).cloned())
}

fn fires(v: &Validation, r: &Row) -> bool {
    v.fires(&|c: &str| r.get(c).cloned())
}

/// Evaluates `left op right` on literals.
fn op(l: impl Into<Value>, op: BinOp, r: impl Into<Value>) -> Value {
    bin(lit(l), op, lit(r)).eval(&|_| None)
}

fn floats(xs: &[f64]) -> Value {
    Value::List(xs.iter().copied().map(Value::Float).collect())
}

// ---------------------------------------------------------------- parsing

#[test]
fn parses_the_spec_example() {
    let v = parse(TOO_HIGH);
    assert_eq!(v.name, "too_high");
    assert_eq!(
        v.expr,
        bin(
            Box::new(Expr::ListGet {
                list: col("out.variable"),
                index: lit(0_i64)
            }),
            BinOp::Gt,
            lit(1_000_000.0)
        )
    );
    assert_eq!(
        v.expr.to_string(),
        r#"(pl.col("out.variable").list.get(0) > 1000000.0)"#
    );
    assert_eq!(v.expr.columns(), vec!["out.variable"]);
}

#[test]
fn parses_every_comparison_operator() {
    for (json, name, op) in [
        (EQ, "eq", BinOp::Eq),
        (NE, "ne", BinOp::NotEq),
        (LT, "lt", BinOp::Lt),
        (LE, "le", BinOp::LtEq),
        (GT, "gt", BinOp::Gt),
        (GE, "ge", BinOp::GtEq),
    ] {
        let v = parse(json);
        assert_eq!(v.name, name);
        assert_eq!(v.expr, bin(col("a"), op, lit(1_i64)), "{name}");
    }
}

#[test]
fn parses_every_arithmetic_operator() {
    let cases = [
        (ADD, bin(col("a"), BinOp::Add, col("b")), lit(1_i64)),
        (SUB, bin(col("a"), BinOp::Sub, lit(2_i64)), lit(1_i64)),
        (MUL, bin(col("a"), BinOp::Mul, lit(2.5)), lit(1_i64)),
        (DIV, bin(col("a"), BinOp::Div, lit(2_i64)), lit(1_i64)),
        (
            FLOORDIV,
            bin(col("a"), BinOp::FloorDiv, lit(2_i64)),
            lit(1_i64),
        ),
    ];
    for (json, inner, right) in cases {
        assert_eq!(
            parse(json).expr,
            bin(Box::new(inner), BinOp::Gt, right),
            "{json}"
        );
    }
    assert_eq!(
        parse(MOD).expr,
        bin(
            Box::new(bin(col("a"), BinOp::Mod, lit(2_i64))),
            BinOp::Eq,
            lit(1_i64)
        )
    );
    // `-pl.col("a")` is written as `0 - a`; `5 - pl.col("a")` keeps the literal on the left.
    assert_eq!(
        parse(NEG_UNARY).expr,
        bin(
            Box::new(bin(lit(0_i64), BinOp::Sub, col("a"))),
            BinOp::Gt,
            lit(1_i64)
        )
    );
    assert_eq!(
        parse(REV_SUB).expr,
        bin(
            Box::new(bin(lit(5_i64), BinOp::Sub, col("a"))),
            BinOp::Gt,
            lit(1_i64)
        )
    );
}

#[test]
fn parses_other_operator_spellings() {
    // `Divide` (Rust-side division) and the later `LogicalAnd`/`LogicalOr` spellings.
    for (polars, op) in [
        ("Divide", BinOp::Div),
        ("LogicalAnd", BinOp::And),
        ("LogicalOr", BinOp::Or),
    ] {
        let json = format!(
            r#"{{"Alias":[{{"BinaryExpr":{{"left":{{"Column":"a"}},"op":"{polars}","right":{{"Column":"b"}}}}}},"x"]}}"#
        );
        assert_eq!(parse(&json).expr, bin(col("a"), op, col("b")));
    }
}

#[test]
fn parses_logical_operators() {
    let gt = || Box::new(bin(col("a"), BinOp::Gt, lit(1_i64)));
    let lt = || Box::new(bin(col("b"), BinOp::Lt, lit(2_i64)));
    assert_eq!(parse(AND).expr, bin(gt(), BinOp::And, lt()));
    assert_eq!(parse(OR).expr, bin(gt(), BinOp::Or, lt()));
    assert_eq!(parse(XOR).expr, bin(gt(), BinOp::Xor, lt()));
    assert_eq!(parse(NOT).expr, Expr::Not(gt()));
    assert_eq!(parse(NOT_COL).expr, Expr::Not(col("flag")));
    assert_eq!(parse(NOT).expr.to_string(), r#"~(pl.col("a") > 1)"#);
    // The later `{"Boolean":"Not"}` spelling.
    let json = r#"{"Alias":[{"Function":{"input":[{"Column":"flag"}],"function":{"Boolean":"Not"},"options":{}}},"n"]}"#;
    assert_eq!(parse(json).expr, Expr::Not(col("flag")));
}

#[test]
fn parses_literals() {
    let right = |json: &str| match parse(json).expr {
        Expr::Binary { right, .. } => *right,
        other => panic!("{other:?}"),
    };
    assert_eq!(right(BOOL_LIT), Expr::Literal(Value::Bool(true)));
    assert_eq!(right(STR_LIT), Expr::Literal(Value::Str("abc".into())));
    assert_eq!(right(NULL_LIT), Expr::Literal(Value::Null));
    assert_eq!(right(LIT_BIG), Expr::Literal(Value::Int(10_000_000_000)));
    assert_eq!(
        right(LIT_U64),
        Expr::Literal(Value::Float(9_223_372_036_854_775_808.0))
    );
    assert_eq!(right(NEG_FLOAT), Expr::Literal(Value::Float(-1.5)));
    assert_eq!(parse(LIT_ONLY).expr, Expr::Literal(Value::Bool(true)));
    assert_eq!(parse(COL_ONLY).expr, Expr::Column("flag".into()));
    // Every integer width, Float32, the newer `String` spelling and `{"Null": null}`.
    for (kind, raw, want) in [
        ("Int8", "-3", Value::Int(-3)),
        ("Int16", "300", Value::Int(300)),
        ("UInt8", "7", Value::Int(7)),
        ("UInt16", "7", Value::Int(7)),
        ("UInt32", "4000000000", Value::Int(4_000_000_000)),
        ("UInt64", "12", Value::Int(12)),
        ("Float32", "0.5", Value::Float(0.5)),
        ("String", "\"x\"", Value::Str("x".into())),
        ("Null", "null", Value::Null),
    ] {
        let json = format!(r#"{{"Alias":[{{"Literal":{{"{kind}":{raw}}}}},"x"]}}"#);
        assert_eq!(parse(&json).expr, Expr::Literal(want), "{kind}");
    }
}

#[test]
fn mul_fixture_keeps_float_literal() {
    match parse(MUL).expr {
        Expr::Binary { left, .. } => {
            assert_eq!(*left, bin(col("a"), BinOp::Mul, lit(2.5)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn folds_literal_casts() {
    let right = |json: &str| match parse(json).expr {
        Expr::Binary { right, .. } => *right,
        other => panic!("{other:?}"),
    };
    assert_eq!(right(LIT_I64_CAST), Expr::Literal(Value::Int(5)));
    assert_eq!(right(LIT_U32_CAST), Expr::Literal(Value::Int(5)));
    assert_eq!(right(LIT_F32_CAST), Expr::Literal(Value::Float(5.5)));
    // 0.1 as f32 is not 0.1 as f64.
    let json = r#"{"Alias":[{"Cast":{"expr":{"Literal":{"Float64":0.1}},"data_type":"Float32","strict":true}},"x"]}"#;
    assert_eq!(
        parse(json).expr,
        Expr::Literal(Value::Float(f64::from(0.1_f32)))
    );
    let json = r#"{"Alias":[{"Cast":{"expr":{"Literal":{"Int32":3}},"data_type":"Float64","strict":true}},"x"]}"#;
    assert_eq!(parse(json).expr, Expr::Literal(Value::Float(3.0)));
    let json = r#"{"Alias":[{"Cast":{"expr":{"Literal":{"Int32":-1}},"data_type":"UInt32","strict":true}},"x"]}"#;
    assert!(
        err(json).contains("cast of the literal -1 to UInt32"),
        "{}",
        err(json)
    );
}

#[test]
fn nested_alias_is_transparent_and_outer_name_wins() {
    let v = parse(NESTED_ALIAS);
    assert_eq!(v.name, "nested_alias");
    assert_eq!(v.expr, bin(col("a"), BinOp::Gt, lit(1_i64)));
}

#[test]
fn parses_list_get_with_column_index_and_negative_index() {
    let v = parse(LISTGET_COL);
    assert_eq!(v.expr.columns(), vec!["out.variable", "i"]);
    let v = parse(NEG_INDEX);
    assert_eq!(
        v.expr,
        bin(
            Box::new(Expr::ListGet {
                list: col("out.variable"),
                index: lit(-1_i64)
            }),
            BinOp::GtEq,
            lit(5_i64)
        )
    );
    // The later `{"ListExpr":{"Get":...}}` spelling.
    let json = format!(
        r#"{{"Alias":[{{"Function":{{"input":[{{"Column":"l"}},{{"Literal":{{"Int32":1}}}}],"function":{{"ListExpr":{{"Get":true}}}},"options":{OPTS_GET}}}}},"x"]}}"#
    );
    assert_eq!(
        parse(&json).expr,
        Expr::ListGet {
            list: col("l"),
            index: lit(1_i64)
        }
    );
}

#[test]
fn columns_are_listed_once_in_order() {
    assert_eq!(parse(PREC).expr.columns(), vec!["a", "b"]);
    assert_eq!(parse(IS_BETWEEN).expr.columns(), vec!["a"]);
    assert!(parse(LIT_ONLY).expr.columns().is_empty());
}

// ---------------------------------------------------------------- errors

#[test]
fn rejects_unsupported_nodes_naming_them() {
    for (json, what) in [
        (WINDOW, "Window"),
        (AGG, "Agg(Mean)"),
        (IS_NULL, "function Boolean.IsNull"),
        (CAST_COL, "cast to Float64 (only literals can be cast)"),
        (NAN_LIT, "NaN or infinite float literal"),
        (EQ_MISSING, "operator EqValidity"),
        (SERIES_LIT, "Series literal"),
        (r#"{"Alias":["Wildcard","w"]}"#, "Wildcard"),
        (
            r#"{"Alias":[{"Frobnicate":{"x":1}},"made_up"]}"#,
            "Frobnicate",
        ),
        (r#"{"Alias":[{"Literal":{"Date":1}},"d"]}"#, "Date literal"),
    ] {
        let msg = err(json);
        assert!(msg.contains("unsupported polars expression: "), "{msg}");
        assert!(msg.contains(what), "{msg} should name {what}");
        assert!(
            msg.ends_with(
                "; supported: column references, list.get, comparisons, arithmetic, and/or/not, literals"
            ),
            "{msg}"
        );
    }
    assert!(err(WINDOW).starts_with("validation 'window': unsupported polars expression: Window;"));
    assert!(err(AGG).starts_with("validation 'agg': unsupported polars expression: Agg(Mean);"));
}

#[test]
fn rejects_a_validation_without_alias() {
    assert_eq!(err(NO_ALIAS), "a validation needs a name (alias)");
    assert_eq!(
        err(r#"{"Alias":[{"Column":"a"},""]}"#),
        "a validation needs a name (alias)"
    );
    assert_eq!(
        err(r#"{"Alias":[{"Column":"a"},5]}"#),
        "a validation needs a name (alias)"
    );
    assert_eq!(
        err(r#""just a string""#),
        "a validation needs a name (alias)"
    );
}

#[test]
fn rejects_the_name_count() {
    let json = r#"{"Alias":[{"Literal":{"Boolean":true}},"count"]}"#;
    assert_eq!(err(json), "'count' is not a valid name for a validation");
}

#[test]
fn rejects_non_json() {
    let msg = err("pl.col('a') > 1");
    assert!(
        msg.starts_with("a validation must be a polars expression serialised as JSON"),
        "{msg}"
    );
    assert!(err("").contains("serialised as JSON"));
}

#[test]
fn rejects_malformed_nodes() {
    for json in [
        r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"right":{"Column":"b"}}},"x"]}"#,
        r#"{"Alias":[{"BinaryExpr":{"left":{"Column":"a"},"op":"Gt"}},"x"]}"#,
        r#"{"Alias":[{"Column":5},"x"]}"#,
        r#"{"Alias":[{"Literal":{"Int32":"five"}},"x"]}"#,
        r#"{"Alias":[{"Function":{"input":[{"Column":"l"}],"function":{"ListExpr":"Get"}}},"x"]}"#,
        r#"{"Alias":[{"Column":"a","Literal":{"Int32":1}},"x"]}"#,
        r#"{"Alias":[[1,2],"x"]}"#,
    ] {
        let msg = err(json);
        assert!(
            msg.starts_with("validation 'x': malformed polars expression: "),
            "{msg}"
        );
    }
}

// ---------------------------------------------------------------- parse_check

#[test]
fn parses_a_check_step() {
    let step = json!({"tree": [TOO_HIGH, TOO_LOW]});
    let vs = parse_check(&step).unwrap();
    assert_eq!(
        vs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["too_high", "too_low"]
    );
    // The `{"Check": ...}` wrapper and already-decoded objects are accepted too.
    let decoded: Json = serde_json::from_str(TOO_HIGH).unwrap();
    let vs = parse_check(&json!({"Check": {"tree": [decoded]}})).unwrap();
    assert_eq!(vs[0].name, "too_high");
    assert!(parse_check(&json!({"tree": []})).unwrap().is_empty());
}

#[test]
fn check_step_rejects_duplicates_and_bad_shapes() {
    match parse_check(&json!({"tree": [TOO_HIGH, EQ, TOO_HIGH]})) {
        Err(Error::InvalidInput(msg)) => assert_eq!(msg, "duplicate validation name 'too_high'"),
        other => panic!("{other:?}"),
    }
    for step in [
        json!({}),
        json!({"tree": "x"}),
        json!({"tree": [5]}),
        json!([TOO_HIGH]),
    ] {
        assert!(
            matches!(parse_check(&step), Err(Error::InvalidInput(_))),
            "{step}"
        );
    }
    match parse_check(&json!({"tree": [TOO_HIGH, AGG]})) {
        Err(Error::InvalidInput(msg)) => assert!(msg.starts_with("validation 'agg'"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- evaluation

#[test]
fn too_high_fires_only_above_the_threshold() {
    let too_high = parse(TOO_HIGH);
    let too_low = parse(TOO_LOW);
    let high = row(&[("out.variable", floats(&[1.5e6]))]);
    let low = row(&[("out.variable", floats(&[500.0]))]);
    assert!(fires(&too_high, &high));
    assert!(!fires(&too_low, &high));
    assert!(!fires(&too_high, &low));
    assert!(fires(&too_low, &low));
    // Integer outputs compare numerically too.
    let int_high = row(&[("out.variable", Value::List(vec![Value::Int(2_000_000)]))]);
    assert!(fires(&too_high, &int_high));
}

#[test]
fn missing_or_null_data_never_fires() {
    let too_high = parse(TOO_HIGH);
    for r in [
        row(&[]),
        row(&[("out.variable", Value::Null)]),
        row(&[("out.variable", Value::List(vec![]))]),
        row(&[("out.variable", Value::List(vec![Value::Null]))]),
        row(&[("out.variable", Value::Float(2e6))]),
        row(&[("out.variable", Value::Str("2e6".into()))]),
    ] {
        assert!(!fires(&too_high, &r), "{r:?}");
        assert_eq!(eval_on(&too_high.expr, &r), Value::Null, "{r:?}");
    }
    assert!(!fires(&parse(NOT), &row(&[])));
    assert!(!fires(&parse(ADD), &row(&[("a", Value::Int(5))])));
}

#[test]
fn negative_index_counts_from_the_end() {
    let get = |i: i64, l: Value| {
        Expr::ListGet {
            list: lit(l),
            index: lit(i),
        }
        .eval(&|_| None)
    };
    let l = floats(&[1.0, 2.0, 3.0]);
    assert_eq!(get(0, l.clone()), Value::Float(1.0));
    assert_eq!(get(2, l.clone()), Value::Float(3.0));
    assert_eq!(get(-1, l.clone()), Value::Float(3.0));
    assert_eq!(get(-3, l.clone()), Value::Float(1.0));
    assert_eq!(get(3, l.clone()), Value::Null);
    assert_eq!(get(-4, l.clone()), Value::Null);
    assert_eq!(get(i64::MIN, l.clone()), Value::Null);
    assert_eq!(get(0, Value::List(vec![])), Value::Null);
    let neg = parse(NEG_INDEX);
    assert!(fires(&neg, &row(&[("out.variable", floats(&[1.0, 9.0]))])));
    assert!(!fires(&neg, &row(&[("out.variable", floats(&[9.0, 1.0]))])));
    // Index taken from a column; a float index is not an index.
    let by_col = parse(LISTGET_COL);
    let r = row(&[("out.variable", floats(&[0.0, 5.0])), ("i", Value::Int(1))]);
    assert!(fires(&by_col, &r));
    let r = row(&[
        ("out.variable", floats(&[0.0, 5.0])),
        ("i", Value::Float(1.0)),
    ]);
    assert!(!fires(&by_col, &r));
}

#[test]
fn nested_lists() {
    let e = Expr::ListGet {
        list: Box::new(Expr::ListGet {
            list: col("m"),
            index: lit(1_i64),
        }),
        index: lit(0_i64),
    };
    let r = row(&[("m", Value::List(vec![floats(&[1.0]), floats(&[7.0, 8.0])]))]);
    assert_eq!(eval_on(&e, &r), Value::Float(7.0));
}

#[test]
fn comparisons() {
    let a = |x: Value| row(&[("a", x)]);
    for (json, hits) in [
        (EQ, [false, true, false]),
        (NE, [true, false, true]),
        (LT, [true, false, false]),
        (LE, [true, true, false]),
        (GT, [false, false, true]),
        (GE, [false, true, true]),
    ] {
        let v = parse(json);
        let got = [0, 1, 2].map(|i| fires(&v, &a(Value::Int(i))));
        assert_eq!(got, hits, "{json}");
        assert!(!fires(&v, &a(Value::Null)), "{json}");
    }
    // Mixed int/float compares numerically.
    assert_eq!(op(1_i64, BinOp::Eq, 1.0), Value::Bool(true));
    assert_eq!(op(2_i64, BinOp::Gt, 1.5), Value::Bool(true));
    assert_eq!(op(1.5, BinOp::Lt, 2_i64), Value::Bool(true));
    // Large integers compare exactly.
    assert_eq!(op(i64::MAX, BinOp::Gt, i64::MAX - 1), Value::Bool(true));
    // Booleans count as 0/1 next to numbers (polars casts to the supertype).
    assert_eq!(op(true, BinOp::Eq, 1_i64), Value::Bool(true));
    assert_eq!(op(false, BinOp::Lt, true), Value::Bool(true));
    // Strings compare with strings, lexicographically.
    assert_eq!(op("abc", BinOp::Lt, "abd"), Value::Bool(true));
    assert_eq!(op("b", BinOp::Gt, "abd"), Value::Bool(true));
    assert_eq!(op("Z", BinOp::Lt, "a"), Value::Bool(true));
    assert_eq!(op("x", BinOp::Eq, "x"), Value::Bool(true));
    // Incomparable kinds give null.
    assert_eq!(op("1", BinOp::Eq, 1_i64), Value::Null);
    assert_eq!(
        bin(lit(floats(&[1.0])), BinOp::Eq, lit(1.0)).eval(&|_| None),
        Value::Null
    );
    let str_lit = parse(STR_LIT);
    assert!(fires(&str_lit, &row(&[("s", "abc".into())])));
    assert!(!fires(&str_lit, &row(&[("s", "abd".into())])));
    let bool_lit = parse(BOOL_LIT);
    assert!(fires(&bool_lit, &row(&[("flag", true.into())])));
    assert!(!fires(&bool_lit, &row(&[("flag", false.into())])));
}

#[test]
fn nan_compares_false_except_not_equal() {
    let nan = f64::NAN;
    for o in [BinOp::Eq, BinOp::Lt, BinOp::LtEq, BinOp::Gt, BinOp::GtEq] {
        assert_eq!(op(nan, o, 1.0), Value::Bool(false), "{o:?}");
        assert_eq!(op(nan, o, nan), Value::Bool(false), "{o:?}");
        assert_eq!(op(1_i64, o, nan), Value::Bool(false), "{o:?}");
    }
    assert_eq!(op(nan, BinOp::NotEq, nan), Value::Bool(true));
    assert_eq!(op(f64::INFINITY, BinOp::Gt, 1e308), Value::Bool(true));
}

#[test]
fn comparisons_with_null_are_null() {
    for o in [
        BinOp::Eq,
        BinOp::NotEq,
        BinOp::Lt,
        BinOp::LtEq,
        BinOp::Gt,
        BinOp::GtEq,
    ] {
        // A null coming from data propagates...
        let e = bin(col("a"), o, col("b"));
        assert_eq!(
            eval_on(&e, &row(&[("a", Value::Int(1))])),
            Value::Null,
            "{o:?}"
        );
        assert_eq!(eval_on(&e, &row(&[])), Value::Null, "{o:?}");
    }
    // ... and so does an ordering comparison with the null literal.
    assert_eq!(
        bin(col("a"), BinOp::Gt, lit(Value::Null)).eval(&|_| Some(Value::Int(1))),
        Value::Null
    );
}

#[test]
fn equality_with_the_bare_null_literal_tests_for_null() {
    // polars 0.18 turns `pl.col("a") == None` into is_null() and `!= None` into is_not_null().
    let v = parse(NULL_LIT);
    assert!(fires(&v, &row(&[])));
    assert!(fires(&v, &row(&[("a", Value::Null)])));
    assert!(!fires(&v, &row(&[("a", Value::Int(0))])));
    let ne = bin(lit(Value::Null), BinOp::NotEq, col("a"));
    assert_eq!(
        eval_on(&ne, &row(&[("a", Value::Int(0))])),
        Value::Bool(true)
    );
    assert_eq!(eval_on(&ne, &row(&[])), Value::Bool(false));
    // A typed null (`pl.lit(None, dtype=pl.Int64)`) propagates instead, as in polars.
    let typed = parse(LIT_NULL_CAST);
    assert_eq!(
        eval_on(&typed.expr, &row(&[("a", Value::Int(0))])),
        Value::Null
    );
    assert_eq!(eval_on(&typed.expr, &row(&[])), Value::Null);
}

#[test]
fn arithmetic_semantics() {
    // Integer arithmetic stays integral (wrapping like polars), mixing gives floats.
    assert_eq!(op(2_i64, BinOp::Add, 3_i64), Value::Int(5));
    assert_eq!(op(2_i64, BinOp::Sub, 3_i64), Value::Int(-1));
    assert_eq!(op(2_i64, BinOp::Mul, 3_i64), Value::Int(6));
    assert_eq!(op(2_i64, BinOp::Mul, 2.5), Value::Float(5.0));
    assert_eq!(op(1_i64 << 62, BinOp::Mul, 4_i64), Value::Int(0));
    assert_eq!(op(true, BinOp::Add, 1_i64), Value::Int(2));
    // True division is always a float.
    assert_eq!(op(7_i64, BinOp::Div, 2_i64), Value::Float(3.5));
    assert_eq!(op(6_i64, BinOp::Div, 2_i64), Value::Float(3.0));
    assert_eq!(op(1_i64, BinOp::Div, 0_i64), Value::Float(f64::INFINITY));
    assert_eq!(op(-1.0, BinOp::Div, 0.0), Value::Float(f64::NEG_INFINITY));
    assert!(matches!(op(0.0, BinOp::Div, 0.0), Value::Float(x) if x.is_nan()));
    // Floor division rounds toward -inf; remainder keeps the dividend's sign (polars 0.18.15).
    for (a, b, q, m) in [
        (7_i64, 2_i64, 3, 1),
        (-7, 2, -4, -1),
        (7, -2, -4, 1),
        (-7, -2, 3, -1),
        (6, 3, 2, 0),
    ] {
        assert_eq!(op(a, BinOp::FloorDiv, b), Value::Int(q), "{a} // {b}");
        assert_eq!(op(a, BinOp::Mod, b), Value::Int(m), "{a} % {b}");
    }
    assert_eq!(op(i64::MIN, BinOp::FloorDiv, -1_i64), Value::Int(i64::MIN));
    assert_eq!(op(i64::MIN, BinOp::Mod, -1_i64), Value::Int(0));
    assert_eq!(op(7.0, BinOp::FloorDiv, -2.0), Value::Float(-4.0));
    assert_eq!(op(-7.0, BinOp::Mod, 2.0), Value::Float(-1.0));
    assert_eq!(op(1.0, BinOp::FloorDiv, 0.0), Value::Float(f64::INFINITY));
    assert!(matches!(op(1.0, BinOp::Mod, 0.0), Value::Float(x) if x.is_nan()));
    // Integer division by zero is null.
    assert_eq!(op(5_i64, BinOp::FloorDiv, 0_i64), Value::Null);
    assert_eq!(op(5_i64, BinOp::Mod, 0_i64), Value::Null);
    // Null propagates; strings concatenate with `+` only.
    for o in [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::FloorDiv,
        BinOp::Mod,
    ] {
        assert_eq!(op(Value::Null, o, 1_i64), Value::Null, "{o:?}");
        assert_eq!(op(1.0, o, Value::Null), Value::Null, "{o:?}");
        assert_eq!(op("a", o, 1_i64), Value::Null, "{o:?}");
    }
    assert_eq!(op("ab", BinOp::Add, "c"), Value::Str("abc".into()));
    assert_eq!(op("ab", BinOp::Sub, "c"), Value::Null);
}

#[test]
fn arithmetic_fixtures_evaluate() {
    let ab = |a: Value, b: Value| row(&[("a", a), ("b", b)]);
    assert!(fires(&parse(ADD), &ab(Value::Int(1), Value::Float(0.5))));
    assert!(!fires(&parse(ADD), &ab(Value::Int(1), Value::Int(0))));
    assert!(fires(&parse(SUB), &ab(Value::Int(4), Value::Null)));
    assert!(fires(&parse(MUL), &ab(Value::Float(0.5), Value::Null)));
    assert!(!fires(&parse(MUL), &ab(Value::Float(0.4), Value::Null)));
    assert!(fires(&parse(DIV), &ab(Value::Int(3), Value::Null))); // 1.5 > 1
    assert!(!fires(&parse(FLOORDIV), &ab(Value::Int(3), Value::Null))); // 1 > 1
    assert!(fires(&parse(MOD), &ab(Value::Int(3), Value::Null)));
    assert!(!fires(&parse(MOD), &ab(Value::Int(-3), Value::Null))); // -1 == 1 is false
    assert!(fires(&parse(NEG_UNARY), &ab(Value::Int(-2), Value::Null)));
    assert!(fires(&parse(REV_SUB), &ab(Value::Int(3), Value::Null)));
    assert!(fires(&parse(NEG_FLOAT), &ab(Value::Int(-1), Value::Null)));
    assert!(fires(
        &parse(LIT_BIG),
        &ab(Value::Int(10_000_000_001), Value::Null)
    ));
    assert!(!fires(
        &parse(LIT_U64),
        &ab(Value::Int(i64::MAX), Value::Null)
    ));
    assert!(fires(
        &parse(LIT_F32_CAST),
        &ab(Value::Float(5.6), Value::Null)
    ));
    assert!(fires(&parse(LIT_I64_CAST), &ab(Value::Int(6), Value::Null)));
}

#[test]
fn precedence_follows_the_tree() {
    // a + b * 2 > 10 was built as a + (b * 2).
    let prec = parse(PREC);
    assert_eq!(
        prec.expr.to_string(),
        r#"((pl.col("a") + (pl.col("b") * 2)) > 10)"#
    );
    let r = row(&[("a", Value::Int(1)), ("b", Value::Int(5))]);
    assert!(fires(&prec, &r)); // 1 + 10 = 11 > 10; (1 + 5) * 2 = 12 would fire too, so:
    let r = row(&[("a", Value::Int(4)), ("b", Value::Int(3))]);
    assert!(!fires(&prec, &r)); // 4 + 6 = 10, not > 10 ((4 + 3) * 2 = 14 would fire)
                                // A hand-built tree with the other grouping gives the other answer.
    let other = bin(
        Box::new(bin(
            Box::new(bin(col("a"), BinOp::Add, col("b"))),
            BinOp::Mul,
            lit(2_i64),
        )),
        BinOp::Gt,
        lit(10_i64),
    );
    assert_eq!(eval_on(&other, &r), Value::Bool(true));
}

#[test]
fn kleene_logic() {
    let (t, f, n) = (Value::Bool(true), Value::Bool(false), Value::Null);
    // Table observed in polars 0.18.15: x, y, x & y, x | y, x ^ y.
    let table = [
        (&t, &t, &t, &t, &f),
        (&t, &f, &f, &t, &t),
        (&t, &n, &n, &t, &n),
        (&f, &t, &f, &t, &t),
        (&f, &f, &f, &f, &f),
        (&f, &n, &f, &n, &n),
        (&n, &t, &n, &t, &n),
        (&n, &f, &f, &n, &n),
        (&n, &n, &n, &n, &n),
    ];
    for (x, y, and, or, xor) in table {
        assert_eq!(op(x.clone(), BinOp::And, y.clone()), *and, "{x} & {y}");
        assert_eq!(op(x.clone(), BinOp::Or, y.clone()), *or, "{x} | {y}");
        assert_eq!(op(x.clone(), BinOp::Xor, y.clone()), *xor, "{x} ^ {y}");
    }
    // Integers are bitwise (booleans count as 0/1 next to them); other kinds are null.
    assert_eq!(op(6_i64, BinOp::And, 3_i64), Value::Int(2));
    assert_eq!(op(6_i64, BinOp::Or, 3_i64), Value::Int(7));
    assert_eq!(op(6_i64, BinOp::Xor, 3_i64), Value::Int(5));
    assert_eq!(op(1_i64, BinOp::And, true), Value::Int(1));
    assert_eq!(op(1_i64, BinOp::And, Value::Null), Value::Null);
    assert_eq!(op("a", BinOp::Or, true), Value::Null);
    assert_eq!(op(1.0, BinOp::And, true), Value::Null);
}

#[test]
fn and_or_xor_not_fixtures_evaluate() {
    let ab = |a: i64, b: i64| row(&[("a", Value::Int(a)), ("b", Value::Int(b))]);
    let (and, or, xor) = (parse(AND), parse(OR), parse(XOR));
    // (a > 1) op (b < 2)
    for (a, b, x, y) in [
        (2, 1, true, true),
        (2, 5, true, false),
        (0, 1, false, true),
        (0, 5, false, false),
    ] {
        assert_eq!(fires(&and, &ab(a, b)), x && y);
        assert_eq!(fires(&or, &ab(a, b)), x || y);
        assert_eq!(fires(&xor, &ab(a, b)), x ^ y);
    }
    // Kleene through missing columns: true | null fires, false & null is false (not fired).
    assert!(fires(&or, &row(&[("a", Value::Int(5))])));
    assert!(!fires(&and, &row(&[("a", Value::Int(5))])));
    assert_eq!(
        eval_on(&and.expr, &row(&[("a", Value::Int(0))])),
        Value::Bool(false)
    );
    let not = parse(NOT);
    assert!(fires(&not, &ab(0, 0)));
    assert!(!fires(&not, &ab(5, 0)));
    assert!(!fires(&not, &row(&[])));
    let not_col = parse(NOT_COL);
    assert!(fires(&not_col, &row(&[("flag", false.into())])));
    assert!(!fires(&not_col, &row(&[("flag", true.into())])));
    assert!(!fires(&not_col, &row(&[("flag", Value::Int(0))])));
    let between = parse(IS_BETWEEN);
    assert!(fires(&between, &row(&[("a", Value::Float(1.5))])));
    assert!(!fires(&between, &row(&[("a", Value::Float(2.5))])));
}

#[test]
fn non_boolean_results_do_not_fire() {
    assert!(fires(&parse(LIT_ONLY), &row(&[])));
    let col_only = parse(COL_ONLY);
    assert!(fires(&col_only, &row(&[("flag", true.into())])));
    for v in [
        Value::Int(1),
        Value::Float(1.0),
        Value::Str("true".into()),
        Value::Null,
        floats(&[1.0]),
    ] {
        assert!(!fires(&col_only, &row(&[("flag", v.clone())])), "{v:?}");
    }
}

#[test]
fn values_from_json() {
    let j = json!([1, 2.5, null, true, "s", [1], {"k": 1}, 18446744073709551615_u64]);
    assert_eq!(
        Value::from(&j),
        Value::List(vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::Null,
            Value::Bool(true),
            Value::Str("s".into()),
            Value::List(vec![Value::Int(1)]),
            Value::Null,
            Value::Float(18_446_744_073_709_551_615.0),
        ])
    );
    let v = parse(TOO_HIGH);
    let response = json!({"out.variable": [1_500_000.0]});
    assert!(v.fires(&|c| response.get(c).map(Value::from)));
}
