//! Binding binary operators without recursion per term.
//!
//! sqlparser parses `1 + 1 + ... + 1` or `a = 1 OR a = 2 OR ...` in a loop
//! but hands us a left-deep tree as deep as the chain is long. Binding it
//! recursively would count every term as a level of nesting (and overflow
//! the stack soon after), so the binder walks the left spine in a loop
//! instead: the longest run of operators of one precedence group becomes
//! one flat [`Expr::Chain`], and only the operands are bound recursively.
//!
//! ```text
//!          OR                 spine walked from the top while the operator
//!         /  \                stays in the OR group:
//!       OR    c = 3             first = (a = 1), links = [(OR, b = 2), (OR, c = 3)]
//!      /  \                   each operand is bound with `Binder::bind` (one
//!   a = 1  b = 2              level deeper than the chain, however long it is)
//! ```
//!
//! A run of one operator stays an [`Expr::Binary`]. Each link is typed as
//! its nested binary operator would be: a string literal is cast to the
//! other side's type, operand types are checked, and the running type of
//! the chain is the left operand of the next link.

use sqlparser::ast;

use crate::error::Result;
use crate::plan::binder::{Binder, binary_op, regex_op};
use crate::plan::expr::{BinaryOp, Expr};

impl Binder<'_> {
    /// Binds the binary operator at `top` together with the left-deep run
    /// of operators of its precedence group below it.
    pub(crate) fn bind_operator_run(&mut self, top: &ast::Expr) -> Result<Expr> {
        let mut run: Vec<(BinaryOp, &ast::Expr)> = Vec::new();
        let mut cursor = top;
        while let ast::Expr::BinaryOp { left, op, right } = cursor {
            // A regular-expression match binds as a function call, not a link.
            if regex_op(op).is_some() {
                break;
            }
            let op = binary_op(op)?;
            if run
                .first()
                .is_some_and(|(top_op, _)| top_op.group() != op.group())
            {
                break;
            }
            run.push((op, right));
            cursor = left;
        }
        run.reverse();
        let mut first = self.bind(cursor)?;
        let mut running_type = self.type_of(&first);
        let mut links = Vec::with_capacity(run.len());
        for (op, right) in run {
            let mut right = self.bind(right)?;
            let left = links.is_empty().then_some(&mut first);
            running_type = self.type_operator(op, left, running_type, &mut right)?;
            links.push((op, right));
        }
        Ok(Expr::chain(first, links))
    }
}
